import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { runningWorkflowsOf } from '../client';
import type { Config } from '../config/schema';
import { temporalSettings } from '../config/temporal-env';
import { closeQuietly } from '../pg/connect';
import { openStateSession } from '../db/state-session';
import { deleteInstance } from '../db/state/instances-delete';
import { tryLockIntegration } from '../db/state/integration-lock';
import { runningRunKeys } from '../db/state';
import { readInstance, type InstanceStatus } from '../db/state/instances-read';
import { setInstanceStatus } from '../db/state/instances-set-status';
import { updateInstanceWeight } from '../db/state/instances-set-weight';
import { instancesOf } from '../schedules/reconcile-instances';
import { deleteInstanceSchedule, ensureInstanceSchedule, setInstanceSchedulePaused, type InstanceScheduleOutcome, type ScheduledTemplate } from '../schedules/instance-schedules';
import { scheduleIdFor } from '../schedules/schedule-id';
import type { InstanceOptions } from './add-instance';
import { InstanceError, InvalidInstanceIdError, InvalidWeightError, UnknownInstanceError } from './errors';
import { checkWeight, instanceWeight } from './instance-weight';
import { ID_PART, instanceRef } from './instance-id';
import { withTemporal } from './temporal-client';
import { getTemplate, templateStateUrl } from './templates';

export class InstanceBusyError extends InstanceError {
  override readonly name = 'InstanceBusyError';
  constructor(
    readonly instance: string,
    cancelled = false,
  ) {
    super(
      cancelled
        ? `${instance} is still being written (a run that started during the removal, or \`dead-letters --retry\`): nothing was removed; try again once it has ended (\`tidemark status ${instance}\`)`
        : `a run of ${instance} is writing: stop it first (\`tidemark cancel ${instance}\`, or remove with --cancel), then remove it`,
    );
  }
}

/** `instances remove` of an instance whose workflows run: removed, they would go on with no id to cancel them by. */
export class InstanceRunningError extends InstanceError {
  override readonly name = 'InstanceRunningError';
  constructor(
    readonly instance: string,
    readonly workflows: string[],
    stuck = false,
  ) {
    super(
      stuck
        ? `${instance}: ${workflows.join(', ')} did not stop within ${REMOVE_CANCEL_WAIT_MS / 1000} s of the cancel (is a worker running?): the instance is not removed; try again once it has stopped (\`tidemark status ${instance}\`)`
        : `${instance} has a run going (${workflows.join(', ')}): cancel it first (\`tidemark cancel ${instance}\`), or remove with --cancel, which cancels it and waits for it to stop`,
    );
  }
}

/** How long `instances remove --cancel` waits for the cancelled runs to stop (a page in flight commits first). */
export const REMOVE_CANCEL_WAIT_MS = 60_000;

function target(opts: InstanceOptions) {
  const env = opts.env ?? process.env;
  const t = getTemplate(opts.config, opts.template);
  if (!ID_PART.test(opts.instance)) throw new InvalidInstanceIdError(opts.instance);
  return { env, t, id: instanceRef(t.id, opts.instance) };
}

export interface RemoveInstanceResult {
  id: string;
  scheduleDeleted: boolean;
  /** With `purge`: its checkpoints, runs, dead letters… were deleted too. */
  purged: boolean;
}

/**
 * Removes an instance: its schedule first (no new runs start), then its row. Its checkpoints, runs and dead
 * letters stay (adding it again continues where it stopped) unless `purge`. Refused while a run of it is going (a
 * workflow running, or a session writing): removed, the run would go on with `status` and `cancel` refusing its id,
 * and its row would stay `partial` (an acceptance run). `cancel`: cancels those runs and waits for them to stop.
 */
export async function removeInstance(opts: InstanceOptions & { purge?: boolean; cancel?: boolean }): Promise<RemoveInstanceResult> {
  const { env, t, id } = target(opts);
  const db = await openStateSession(templateStateUrl(t, env), { applicationName: 'tidemark-instances' });
  try {
    const row = await readInstance(db, t.id, opts.instance);
    if (!row && !opts.purge) throw new UnknownInstanceError(id);
    const scheduleDeleted = await withTemporal(opts.client, env, async (client) => {
      const runningNow = async () => runningWorkflowsOf(client, id, await runningRunKeys(db, id));
      const running = await runningNow();
      if (running.length && !opts.cancel) throw new InstanceRunningError(id, running.map((h) => h.workflowId));
      // Nothing is deleted until nothing runs: its schedule is paused first (no new runs), and unpaused again if the
      // removal stops half way (an active instance must not be left without its schedule's runs).
      const unpause = t.schedule && row?.status === 'active' && (await setInstanceSchedulePaused(client, id, true, 'instance being removed'));
      try {
        await cancelAndWait(id, running);
        // A run that started meanwhile: it holds the lock, or is listed now (its workflow).
        if (!(await tryLockIntegration(db, id))) throw new InstanceBusyError(id, !!opts.cancel);
        const late = await runningNow();
        if (late.length) throw new InstanceRunningError(id, late.map((h) => h.workflowId));
      } catch (err) {
        if (unpause) await setInstanceSchedulePaused(client, id, false, 'instance not removed').catch(() => undefined);
        throw err;
      }
      // A template without a schedule has none to delete (one left from before is reconcile's to find).
      return t.schedule ? await deleteInstanceSchedule(client, id) : false;
    });
    const { purged } = await deleteInstance(db, t.id, opts.instance, !!opts.purge);
    // --purge of an id that left nothing (a typo) is no removal: say so, as without --purge.
    if (!row && !scheduleDeleted && purged === 0) throw new UnknownInstanceError(id);
    return { id, scheduleDeleted, purged: !!opts.purge };
  } finally {
    await closeQuietly(db); // also releases the integration's lock
  }
}

async function cancelAndWait(id: string, running: WorkflowHandle[]): Promise<void> {
  if (!running.length) return;
  // One that ended since it was listed has nothing to cancel.
  for (const h of running) await h.cancel().catch((err: unknown) => {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  });
  const deadline = Date.now() + REMOVE_CANCEL_WAIT_MS;
  for (;;) {
    const still: string[] = [];
    for (const h of running) if ((await h.describe().catch(() => undefined))?.status.name === 'RUNNING') still.push(h.workflowId);
    if (!still.length) return;
    if (Date.now() > deadline) throw new InstanceRunningError(id, still, true);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface PauseResult {
  id: string;
  status: InstanceStatus;
  /** What became of its schedule: paused/unpaused, created (it was missing), or none (the template has no schedule). */
  schedule: 'paused' | 'unpaused' | 'created' | 'none';
}

/** Pauses (or resumes) an instance: its status, and its schedule, with the reason as the schedule's note. */
export async function pauseInstance(opts: InstanceOptions & { reason?: string }): Promise<PauseResult> {
  // Without --reason, the reason it has stays (why it was paused, or refused credentials): an acceptance run lost it.
  return setPaused(opts, true, (row) => opts.reason ?? row.reason ?? 'paused by an operator');
}

export async function resumeInstance(opts: InstanceOptions): Promise<PauseResult> {
  return setPaused(opts, false, () => 'resumed');
}

async function setPaused(opts: InstanceOptions, paused: boolean, reasonOf: (row: { reason: string | null }) => string): Promise<PauseResult> {
  const { env, t, id } = target(opts);
  const status: InstanceStatus = paused ? 'paused' : 'active';
  const db = await openStateSession(templateStateUrl(t, env), { applicationName: 'tidemark-instances' });
  try {
    const row = await readInstance(db, t.id, opts.instance);
    if (!row) throw new UnknownInstanceError(id);
    const reason = reasonOf(row);
    if (!t.schedule) {
      await setInstanceStatus(db, t.id, opts.instance, status, paused ? reason : null);
      return { id, status, schedule: 'none' };
    }
    const schedule = await withTemporal(opts.client, env, async (client) => {
      await setInstanceStatus(db, t.id, opts.instance, status, paused ? reason : null);
      if (await setInstanceSchedulePaused(client, id, paused, `instance ${paused ? `paused: ${reason}` : 'resumed'}`)) return paused ? 'paused' : 'unpaused';
      const taskQueue = opts.taskQueue ?? temporalSettings(env).taskQueue;
      await ensureInstanceSchedule(client, t as ScheduledTemplate, id, opts.instance, taskQueue, paused ? { note: `instance paused: ${reason}` } : undefined, instanceWeight(t, row));
      return 'created' as const;
    });
    return { id, status, schedule };
  } finally {
    await closeQuietly(db);
  }
}

/** One instance for people and scripts: never a secret's value (nor its ciphertext). */
/**
 * Why an instance's schedule must not be unpaused on its own: the instance is paused or needs new credentials
 * (its runs would each fail in Temporal with no run row: an acceptance run). Undefined when it is active.
 */
export async function scheduleUnpauseRefusal(opts: InstanceOptions): Promise<string | undefined> {
  const { env, t, id } = target(opts);
  const db = await openStateSession(templateStateUrl(t, env), { applicationName: 'tidemark-instances' });
  try {
    const row = await readInstance(db, t.id, opts.instance);
    if (!row) throw new UnknownInstanceError(id);
    if (row.status === 'active') return undefined;
    const why = row.reason ? ` (${row.reason})` : '';
    return row.status === 'paused'
      ? `instance ${id} is paused${why}: \`tidemark instances resume ${t.id} ${opts.instance}\` resumes it and unpauses its schedule`
      : `instance ${id} needs new credentials${why}: replace its secret, then \`tidemark instances resume ${t.id} ${opts.instance}\` resumes it and unpauses its schedule`;
  } finally {
    await closeQuietly(db);
  }
}

export interface InstanceView {
  id: string;
  template: string;
  instance: string;
  status: InstanceStatus;
  reason: string | null;
  params: Record<string, string>;
  /** name → `env NAME` (read from the workers' environment) or `encrypted` */
  secrets: Record<string, string>;
  scheduleId?: string;
  /** Fairness weight of its runs: its own, else the template's `fairnessWeight`, else 1. */
  weight: number;
  /** Where the weight comes from. */
  weightFrom: 'instance' | 'template' | 'default';
  createdAt: string;
  updatedAt: string;
}

/** Every instance of the config's templates (or of one), from their state databases. */
export async function listInstances(opts: { config: Config; template?: string; env?: NodeJS.ProcessEnv }): Promise<InstanceView[]> {
  const config = opts.template ? { ...opts.config, templates: [getTemplate(opts.config, opts.template)] } : opts.config;
  return (await instancesOf(config, opts.env)).map(({ template, row }) => {
    const id = instanceRef(row.template, row.instanceId);
    return {
      id,
      template: row.template,
      instance: row.instanceId,
      status: row.status,
      reason: row.reason,
      params: row.params,
      secrets: Object.fromEntries(Object.entries(row.secrets).map(([k, s]) => [k, 'env' in s ? `env ${s.env}` : 'encrypted'])),
      ...(template.schedule ? { scheduleId: scheduleIdFor(id) } : {}),
      weight: instanceWeight(template, row),
      weightFrom: row.weight !== null ? ('instance' as const) : template.fairnessWeight !== undefined ? ('template' as const) : ('default' as const),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  });
}

export interface SetWeightResult {
  id: string;
  /** The weight its runs get now (its own, or with `null` the template's / 1). */
  weight: number;
  schedule: InstanceScheduleOutcome | 'none';
}

/**
 * Sets an instance's fairness weight (`null`: back to the template's `fairnessWeight`, else 1) and updates its
 * schedule's action, so the next scheduled run's activities carry it; a run in progress keeps the weight it started with.
 */
export async function setInstanceWeight(opts: InstanceOptions & { weight: number | null }): Promise<SetWeightResult> {
  const { env, t, id } = target(opts);
  if (opts.weight !== null && !checkWeight(opts.weight)) throw new InvalidWeightError(id, opts.weight);
  const db = await openStateSession(templateStateUrl(t, env), { applicationName: 'tidemark-instances' });
  try {
    const row = await readInstance(db, t.id, opts.instance);
    if (!row) throw new UnknownInstanceError(id);
    const weight = instanceWeight(t, { weight: opts.weight });
    if (!t.schedule) {
      await updateInstanceWeight(db, t.id, opts.instance, opts.weight);
      return { id, weight, schedule: 'none' };
    }
    // Temporal is reached before the row changes: an unreachable server changes nothing.
    const schedule = await withTemporal(opts.client, env, async (client) => {
      await updateInstanceWeight(db, t.id, opts.instance, opts.weight);
      const paused = row.status === 'active' ? undefined : { note: `instance ${row.status}${row.reason ? `: ${row.reason}` : ''}` };
      const taskQueue = opts.taskQueue ?? temporalSettings(env).taskQueue;
      return (await ensureInstanceSchedule(client, t as ScheduledTemplate, id, opts.instance, taskQueue, paused, weight)).outcome;
    });
    return { id, weight, schedule };
  } finally {
    await closeQuietly(db);
  }
}
