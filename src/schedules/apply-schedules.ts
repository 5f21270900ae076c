import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import type { Config, Integration } from '../config/schema';
import type { SearchAttributePair } from '@temporalio/common';
import { withSearchAttributes } from '../instances/search-attributes';
import { attributeDifferences } from './instance-schedules';
import { reconcileInstances } from './reconcile-instances';
import { scheduleIdFor } from './schedule-id';
import { assertSchedulesValid, desiredSchedule, scheduleDifferences, specText, type ScheduledIntegration } from './schedule-spec';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged' | 'no-schedule' | 'orphaned' | 'deleted';

export interface ApplyReport {
  integration: string;
  scheduleId: string;
  outcome: ApplyOutcome;
  /** One line for people: the spec and policy, the differences of an update, or why a schedule is orphaned. */
  detail: string;
  /** For `updated`: each difference, "was → wants". */
  differences?: string[];
}

export interface ApplyOptions {
  taskQueue: string;
  /** Delete tidemark's schedules whose integration left the config or has no `schedule` any more. */
  prune?: boolean;
  /** Called as each report is ready (the CLI prints it at once, so a later failure does not hide it). */
  onReport?: (report: ApplyReport) => void;
  /** Where ${NAME} of templates' sink urls are read (the instances' state databases); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A Schedule's description, or undefined when there is none (describe reads the Schedule itself: consistent). */
export async function describeIfExists(handle: ScheduleHandle): Promise<ScheduleDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/**
 * One Schedule per integration with `schedule` in the config: create, update or leave alone, so a
 * second run changes nothing. Pausing is an operator's decision: apply never pauses or unpauses, it
 * says so instead. Checked for every integration first, so a bad config writes nothing.
 */
export async function applySchedules(client: Client, config: Config, opts: ApplyOptions): Promise<ApplyReport[]> {
  assertSchedulesValid(config);
  const reports: ApplyReport[] = [];
  const add = (r: ApplyReport) => {
    reports.push(r);
    opts.onReport?.(r);
  };
  for (const [i, it] of config.integrations.entries()) {
    add(it.schedule ? await applyOne(client, it as ScheduledIntegration, i, opts.taskQueue) : await unscheduled(client, it, !!opts.prune));
  }
  // Integrations gone from the config: their schedules are found by memo (the listing is eventually
  // consistent, so each is described before it is reported).
  const inConfig = new Set(config.integrations.map((it) => scheduleIdFor(it.id)));
  for await (const s of client.schedule.list()) {
    // Instance schedules are reconciled with tidemark.instances below.
    if (s.memo?.tidemark !== true || inConfig.has(s.scheduleId) || typeof s.memo.instance === 'string') continue;
    const report = await orphan(client, s.scheduleId, String(s.memo.integration ?? s.scheduleId), 'not in the config', !!opts.prune);
    if (report) add(report);
  }
  await reconcileInstances(client, config, { taskQueue: opts.taskQueue, prune: !!opts.prune, onReport: add, ...(opts.env ? { env: opts.env } : {}) });
  return reports;
}

async function applyOne(client: Client, it: ScheduledIntegration, index: number, taskQueue: string): Promise<ApplyReport> {
  const scheduleId = scheduleIdFor(it.id);
  // The workflows it starts carry TidemarkIntegration (the UI filters by it), when the server has the attribute.
  const want = (attributes?: SearchAttributePair[]) => {
    const w = desiredSchedule(it, taskQueue);
    return attributes ? { ...w, action: { ...w.action, typedSearchAttributes: attributes } } : w;
  };
  const handle = client.schedule.getHandle(scheduleId);
  const summary = `${specText(it.schedule)}, overlap ${it.schedule.overlap}`;
  let have = await describeIfExists(handle);
  if (!have) {
    try {
      await withSearchAttributes(client, it.id, (attributes) => client.schedule.create(want(attributes)));
      return { integration: it.id, scheduleId, outcome: 'created', detail: `${summary}${it.schedule.paused ? ', paused' : ''}` };
    } catch (err) {
      // Another apply created it a moment ago: compare with that one instead.
      if (!(err instanceof ScheduleAlreadyRunning)) throw refused(it, index, err);
      have = await handle.describe();
    }
  }
  const differences = [...scheduleDifferences(it, taskQueue, have), ...(await attributeDifferences(client, it.id, have))];
  const pause = pauseNotice(it, have);
  if (!differences.length) return { integration: it.id, scheduleId, outcome: 'unchanged', detail: `${summary}${pause}` };
  try {
    // Spec, action and policies from the config; the state (paused, note) and anything else set on the schedule stay.
    await withSearchAttributes(client, it.id, (attributes) => {
      const next = want(attributes);
      return handle.update((prev) => ({ ...prev, spec: next.spec, action: next.action, policies: { ...prev.policies, ...next.policies } }));
    });
  } catch (err) {
    throw refused(it, index, err);
  }
  return { integration: it.id, scheduleId, outcome: 'updated', detail: `${differences.join(', ')}${pause}`, differences };
}

function pauseNotice(it: ScheduledIntegration, have: ScheduleDescription): string {
  if (have.state.paused) return `; paused${have.state.note ? `: ${have.state.note}` : ''}; \`tidemark schedule unpause ${it.id}\` resumes it`;
  if (it.schedule.paused) return `; not paused although the config says paused (that applies at creation only); \`tidemark schedule pause ${it.id}\` pauses it`;
  return '';
}

/** An integration without `schedule`: a tidemark schedule left from before is an orphan. */
async function unscheduled(client: Client, it: Integration, prune: boolean): Promise<ApplyReport> {
  const scheduleId = scheduleIdFor(it.id);
  const have = await describeIfExists(client.schedule.getHandle(scheduleId));
  const report = have?.memo?.tidemark === true ? await orphan(client, scheduleId, it.id, 'no schedule in the config any more', prune) : undefined;
  return report ?? { integration: it.id, scheduleId, outcome: 'no-schedule', detail: 'no schedule in the config' };
}

async function orphan(client: Client, scheduleId: string, integration: string, why: string, prune: boolean): Promise<ApplyReport | undefined> {
  const handle = client.schedule.getHandle(scheduleId);
  if (!prune) {
    if (!(await describeIfExists(handle))) return undefined;
    return { integration, scheduleId, outcome: 'orphaned', detail: `${why}; \`tidemark schedule apply --prune\` deletes it` };
  }
  try {
    await handle.delete();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined; // already gone: the listing lagged behind
    throw err;
  }
  return { integration, scheduleId, outcome: 'deleted', detail: `${why} (pruned; runs in progress go on)` };
}

function refused(it: Integration, index: number, err: unknown): Error {
  return new Error(`integrations[${index}].schedule (${it.id}): Temporal refused the schedule: ${(err as Error).message}`, { cause: err });
}
