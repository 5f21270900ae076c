import { createHash } from 'node:crypto';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { ScheduleConfig, Template } from '../config/schema';
import { searchAttributesFor, searchAttributesAvailable, withSearchAttributes } from '../instances/search-attributes';
import { scheduleIdFor } from './schedule-id';
import { desiredSchedule, scheduleDifferences, specText } from './schedule-spec';

/**
 * The Schedule of one instance: the template's `schedule`, with an `every` interval shifted by an offset
 * derived from the instance id, so a thousand instances every 5 minutes start spread over the 5 minutes
 * instead of in one second (Temporal starts about 10 scheduled workflows a second per namespace).
 */
export type ScheduledTemplate = Template & { schedule: ScheduleConfig };

/** Deterministic offset in [0, every), whole seconds (for intervals of a second and more): the same id, the same offset. */
export function jitterOffset(id: string, every: number): number {
  const slots = Math.max(1, Math.floor(every / 1000));
  const h = createHash('sha256').update(id).digest().readUIntBE(0, 6);
  return (h % slots) * 1000;
}

/** The template's schedule as this instance runs it. */
export function instanceScheduleConfig(s: ScheduleConfig, id: string): ScheduleConfig {
  if (!('every' in s)) return s;
  return { ...s, offset: ((s.offset ?? 0) + jitterOffset(id, s.every)) % s.every };
}

/**
 * `attributes`: search attributes of the workflows the schedule starts (TidemarkTemplate, TidemarkInstance…), when the server has them.
 * `weight`: the instance's fairness weight (see instanceWeight), passed to its runs in the workflow input.
 */
export function instanceScheduleOptions(t: ScheduledTemplate, id: string, instance: string, taskQueue: string, paused?: { note: string }, attributes?: SearchAttributePair[], weight?: number) {
  const schedule = instanceScheduleConfig(t.schedule, id);
  const want = desiredSchedule({ id, schedule, ...(weight !== undefined ? { fairnessWeight: weight } : {}) }, taskQueue);
  return {
    schedule,
    want: {
      ...want,
      action: { ...want.action, ...(attributes ? { typedSearchAttributes: attributes } : {}) },
      memo: { ...want.memo, template: t.id, instance },
      ...(paused ? { state: { paused: true, note: paused.note } } : {}),
    },
  };
}

/**
 * A schedule made before tidemark set search attributes (or while the server lacked them) is brought up to
 * date once it has them: every attribute of the integration's workflows (TidemarkIntegration; an instance's
 * also TidemarkTemplate and TidemarkInstance) must be on the schedule's action with its value.
 */
export async function attributeDifferences(client: Client, id: string, have: ScheduleDescription): Promise<string[]> {
  if (have.action.type !== 'startWorkflow' || (await searchAttributesAvailable(client)) === false) return [];
  const attrs = have.action.typedSearchAttributes;
  const diffs: string[] = [];
  for (const { key, value } of searchAttributesFor(id)) {
    const current = Array.isArray(attrs) ? attrs.find((p) => p.key.name === key.name)?.value : attrs?.get(key);
    if (current !== value) diffs.push(`search attribute ${key.name} ${current ?? '(none)'} → ${String(value)}`);
  }
  return diffs;
}

/** The schedule's description, or undefined when there is none (like apply's describeIfExists, without importing apply: it imports this). */
async function describeIfExists(handle: ReturnType<Client['schedule']['getHandle']>): Promise<ScheduleDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

export type InstanceScheduleOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Creates the instance's schedule, or brings an existing one to the template's spec (idempotent: the id
 * derives from the instance id). The pause state of an existing schedule is left as it is.
 */
export async function ensureInstanceSchedule(
  client: Client,
  t: ScheduledTemplate,
  id: string,
  instance: string,
  taskQueue: string,
  paused?: { note: string },
  weight?: number,
): Promise<{ outcome: InstanceScheduleOutcome; scheduleId: string; detail: string }> {
  const options = (attributes?: SearchAttributePair[]) => instanceScheduleOptions(t, id, instance, taskQueue, paused, attributes, weight);
  const { schedule, want } = options();
  const scheduleId = want.scheduleId;
  const detail = `${specText(schedule)}, overlap ${schedule.overlap}`;
  const handle = client.schedule.getHandle(scheduleId);
  let have: ScheduleDescription | undefined = await describeIfExists(handle);
  if (!have) {
    try {
      await withSearchAttributes(client, id, (attributes) => client.schedule.create(options(attributes).want));
      return { outcome: 'created', scheduleId, detail: `${detail}${paused ? ', paused' : ''}` };
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      have = await handle.describe();
    }
  }
  const differences = [...scheduleDifferences({ id, schedule, ...(weight !== undefined ? { fairnessWeight: weight } : {}) }, taskQueue, have), ...(await attributeDifferences(client, id, have))];
  if (!differences.length) return { outcome: 'unchanged', scheduleId, detail };
  await withSearchAttributes(client, id, (attributes) => {
    const next = options(attributes).want;
    return handle.update((prev) => ({ ...prev, spec: next.spec, action: next.action, policies: { ...prev.policies, ...next.policies } }));
  });
  return { outcome: 'updated', scheduleId, detail: differences.join(', ') };
}

/** Deletes the instance's schedule; false when there was none. Runs in progress go on. */
export async function deleteInstanceSchedule(client: Client, id: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(scheduleIdFor(id)).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/** Pauses or unpauses the instance's schedule; false when there is none. */
export async function setInstanceSchedulePaused(client: Client, id: string, paused: boolean, note: string): Promise<boolean> {
  const handle = client.schedule.getHandle(scheduleIdFor(id));
  try {
    await (paused ? handle.pause(note) : handle.unpause(note));
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}
