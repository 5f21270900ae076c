import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { Progress, ShardView } from '../activities/types';
import { failureText } from './stuck-task';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';

export interface RunView {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  attempt?: number;
  lastFailure?: string;
  /**
   * The attempt after that failure is under way and heartbeating (a recovered outage): the failure is history, not
   * what the run is doing now (an acceptance run saw "retrying" next to pages committing).
   */
  recovered?: boolean;
  progress?: Progress;
  /** Sharded backfill: each running shard's rows as its last heartbeat said (its slot's rows, see withCommittedRows). */
  shardRows?: { slot: string; rows: number }[];
  /** Sharded backfill: shards running / done / in the plan. */
  shards?: { running: number; done: number; total: number };
  /** A sharded backfill (or a resume) being planned: its planBackfill attempt, and seconds since a worker last heard of it. */
  planning?: { attempt: number; silentS?: number };
  /** Before its first page, the run waits for its source's open writers (see writersWaitLine). */
  waitingForWriters?: NonNullable<Progress['waitingForWriters']>;
  /** Reading activities not heard of for SILENT_S or more (a worker killed): see silentReaders. */
  silent?: Silent;
  /** Reading activities whose next attempt no worker has taken (see unclaimedReaders): their rate is not counted. */
  unclaimed?: Unclaimed;
}

export interface Unclaimed {
  /** Of `of` reading activities, `count` wait for a worker on `taskQueue`, the longest for `seconds`. */
  count: number;
  of: number;
  seconds: number;
  taskQueue: string;
  /** Workers alive on the task queue (livePollers; undefined: not known): with some, the activities wait for a free slot. */
  pollers?: number;
}

/**
 * A reading attempt heartbeats at least every 10 s (a third of its 30 s heartbeat timeout, throttled to 2 s), so
 * one not heard of for this long has most likely lost its worker: its rate is from then, not now (an acceptance run
 * read a dead worker's rate for 30 s).
 */
export const SILENT_S = 15;

export interface Silent {
  /** Of `of` reading attempts under way, `count` silent; the longest for `seconds`. */
  count: number;
  of: number;
  seconds: number;
}

/** The started reading attempts (runIntegration) not heard of for SILENT_S or more. */
export function silentReaders(pending: readonly temporal.api.workflow.v1.IPendingActivityInfo[], now = Date.now()): Silent | undefined {
  // 2 = PENDING_ACTIVITY_STATE_STARTED: a worker took the attempt (a scheduled one waits for a worker, and says so).
  const started = pending.filter((p) => p.activityType?.name === 'runIntegration' && p.state === 2);
  const ages = started.map(lastHeard).flatMap((t) => (Number.isFinite(t) ? [Math.round((now - t) / 1000)] : []));
  const silent = ages.filter((a) => a >= SILENT_S);
  return silent.length ? { count: silent.length, of: started.length, seconds: Math.max(...silent) } : undefined;
}

/**
 * Reading activities (runIntegration) whose next attempt is due and no worker has taken: every worker gone (killed)
 * once the heartbeat timeout passed. Their last heartbeat's rate and ETA are from before (an acceptance run read a
 * rate and "ETA 16s" for minutes with no worker alive). An attempt still in its retry backoff is not counted.
 */
export function unclaimedReaders(pending: readonly temporal.api.workflow.v1.IPendingActivityInfo[], taskQueue: string, now = Date.now()): Unclaimed | undefined {
  const readers = pending.filter((p) => p.activityType?.name === 'runIntegration');
  // 1 = PENDING_ACTIVITY_STATE_SCHEDULED: the attempt waits for a worker to take it.
  const due = readers.flatMap((p) => {
    const at = optionalTsToMs(p.scheduledTime) ?? lastHeard(p);
    return p.state === 1 && Number.isFinite(at) && at <= now ? [Math.round((now - at) / 1000)] : [];
  });
  return due.length ? { count: due.length, of: readers.length, seconds: Math.max(...due), taskQueue } : undefined;
}

/** An activity's last heartbeat as progress now: one no worker runs (state 2 = started) reads nothing, so no rate and no ETA from it. */
export function liveProgress(p: temporal.api.workflow.v1.IPendingActivityInfo, beat: Progress): Progress {
  return p.state === 2 ? beat : { ...beat, rate: 0, etaSeconds: undefined };
}

/** `status`: reading attempts no worker has taken. */
export function unclaimedLine(u: Unclaimed): string {
  const who = u.of > 1 ? `${u.count} of ${u.of} shards wait` : 'the run waits';
  // Workers that poll but take nothing have every activity slot busy (--max-activities), e.g. more shards than slots.
  if (u.pollers) return `${who} for a free activity slot on the ${u.pollers} worker(s) seen polling task queue "${u.taskQueue}" in the last 75 s (${u.seconds} s so far; no rate from them until taken; a worker that stopped stays listed that long, then this says no worker is left)`;
  return `${who} for a worker on task queue "${u.taskQueue}" (${u.seconds} s so far; no rate or ETA until one takes over): start one with \`tidemark worker\`; it goes on from the checkpoint`;
}

/**
 * Workers alive on the task queue: those that polled it for workflow tasks within 75 s (a long poll lasts about a
 * minute). Workflow tasks, not activities: a worker with every activity slot busy stops polling for activities, and a
 * killed one's last poll ages from its death. Undefined when Temporal does not say.
 */
export async function livePollers(client: Client, taskQueue: string, now = Date.now()): Promise<number | undefined> {
  try {
    const r = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 /* TASK_QUEUE_TYPE_WORKFLOW */ });
    return (r.pollers ?? []).filter((p) => now - (optionalTsToMs(p.lastAccessTime) ?? 0) < 75_000).length;
  } catch {
    return undefined;
  }
}

/** When an attempt was last heard of: the later of its heartbeat and its start (a retried attempt keeps the attempt before's last heartbeat until its own first). -Infinity: never. */
function lastHeard(p: temporal.api.workflow.v1.IPendingActivityInfo): number {
  return Math.max(optionalTsToMs(p.lastHeartbeatTime) ?? -Infinity, optionalTsToMs(p.lastStartedTime) ?? -Infinity);
}

/** A planBackfill attempt: which one, and how long since it was last heard of (none yet: waiting for a worker). */
export function planningOf(plan: temporal.api.workflow.v1.IPendingActivityInfo, now = Date.now()): { attempt: number; silentS?: number } {
  const heard = lastHeard(plan);
  return { attempt: plan.attempt ?? 1, ...(Number.isFinite(heard) ? { silentS: Math.max(0, Math.round((now - heard) / 1000)) } : {}) };
}

/** `status`: reading attempts that went silent. */
export function silentLine(s: Silent): string {
  const who = s.of > 1 ? `${s.count} of ${s.of} shards have` : 'the run has';
  return `${who} sent no heartbeat for ${s.seconds} s: the worker may be gone, and the rate above is from before. Temporal gives the attempt to another worker once 30 s pass without one (the heartbeat timeout); it goes on from its checkpoint`;
}

/** The workflow's state and its activity's latest heartbeat details (what the Temporal UI shows as pending). */
export async function describeRun(client: Client, handle: WorkflowHandle): Promise<RunView | undefined> {
  let d;
  try {
    d = await handle.describe();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
    throw err;
  }
  const pending = d.raw.pendingActivities ?? [];
  const progresses: Progress[] = [];
  let waiting: Progress['waitingForWriters'];
  for (const p of pending) {
    const payloads = p.heartbeatDetails?.payloads;
    const decoded = payloads?.length ? await decodeFromPayloadsAtIndex<Progress>(client.options.loadedDataConverter, 0, payloads) : undefined;
    // A first attempt waiting for writers beats with that alone: no progress yet.
    if (decoded && typeof decoded.rows === 'number') progresses.push(liveProgress(p, decoded));
    // Heartbeats are throttled: the wait's may outlive it by a while, so past its bound it is not shown.
    const w = decoded?.waitingForWriters;
    if (w && Date.now() - Date.parse(w.since) <= w.waitMs + 2_000) waiting = w;
  }
  const sharded = progresses.some((p) => p.slot?.startsWith('backfill/'));
  const views = sharded && d.status.name === 'RUNNING' ? await shardViews(handle) : undefined;
  const failing = pending.find((p) => p.lastFailure?.message);
  const plan = pending.find((p) => p.activityType?.name === 'planBackfill');
  const silent = silentReaders(pending);
  const due = d.status.name === 'RUNNING' ? unclaimedReaders(pending, d.taskQueue) : undefined;
  const pollers = due ? await livePollers(client, d.taskQueue) : undefined;
  const unclaimed = due && pollers !== undefined ? { ...due, pollers } : due;
  return {
    workflowId: d.workflowId,
    runId: d.runId,
    type: d.type,
    status: d.status.name,
    attempt: (failing ?? pending[0])?.attempt ?? undefined,
    ...(failing?.lastFailure ? { lastFailure: await failureText(client, failing.lastFailure), ...(recovered(failing) ? { recovered: true } : {}) } : {}),
    progress: sharded ? combineShards(progresses, views) : progresses[0],
    ...(sharded ? { shardRows: progresses.map((p) => ({ slot: p.slot, rows: p.rows })) } : {}),
    ...(plan ? { planning: planningOf(plan) } : {}),
    ...(waiting ? { waitingForWriters: waiting } : {}),
    ...(silent ? { silent } : {}),
    ...(unclaimed ? { unclaimed } : {}),
    ...(views ? { shards: { running: views.filter((v) => v.status === 'running').length, done: views.filter((v) => v.status === 'done').length, total: views.length } } : {}),
  };
}

/** A pending activity whose current attempt started after its last failure and has heartbeated since it started. */
function recovered(p: temporal.api.workflow.v1.IPendingActivityInfo): boolean {
  const started = optionalTsToMs(p.lastStartedTime);
  const beat = optionalTsToMs(p.lastHeartbeatTime);
  // 2 = PENDING_ACTIVITY_STATE_STARTED: a worker runs the attempt now.
  return p.state === 2 && started !== undefined && beat !== undefined && beat > started;
}

/** The workflow's `shards` query, bounded: a workflow whose worker is down must not hang `status`. */
async function shardViews(handle: WorkflowHandle): Promise<ShardView[] | undefined> {
  const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 2_000).unref());
  return Promise.race([handle.query<ShardView[]>('shards').catch(() => undefined), timeout]);
}

/** One view of a sharded backfill: running shards' heartbeats plus the rows of finished shards. */
export function combineShards(running: Progress[], views: ShardView[] | undefined): Progress | undefined {
  const first = running[0];
  if (!first) return undefined;
  const doneRows = (views ?? []).filter((v) => v.status === 'done').reduce((n, v) => n + (v.rows ?? 0), 0);
  const sum = (f: (p: Progress) => number | undefined) => running.reduce<number | undefined>((n, p) => (n === undefined || f(p) === undefined ? undefined : n + (f(p) as number)), 0);
  const rate = running.reduce((n, p) => n + p.rate, 0);
  const remaining = sum((p) => p.remaining);
  const total = sum((p) => p.total);
  return {
    ...first,
    slot: 'backfill/*',
    rows: doneRows + running.reduce((n, p) => n + p.rows, 0),
    pages: running.reduce((n, p) => n + p.pages, 0),
    rate,
    cursor: running.map((p) => p.cursor),
    ...(total !== undefined ? { total: total + doneRows } : {}),
    ...(remaining !== undefined ? { remaining, etaSeconds: rate > 0 ? Math.round(remaining / rate) : undefined } : {}),
  };
}

/**
 * A sharded run's progress with the rows its running shards committed since their last heartbeats (the state
 * database's rows_done of each one's slot, what the shard lines of `status` show): Temporal holds a shard's heartbeat
 * back for up to a couple of seconds, and an acceptance run read 1,500 rows of progress above shard lines that summed
 * to 2,644. Shard by shard (a heartbeat's rows are its slot's, from before this run too), so finished and waiting
 * shards, counted otherwise, are not counted again.
 */
export function withCommittedRows(p: Progress, running: readonly { slot: string; rows: number }[], slotRows: ReadonlyMap<string, number>): Progress {
  const ahead = running.reduce((n, s) => n + Math.max(0, (slotRows.get(s.slot) ?? 0) - s.rows), 0);
  if (ahead <= 0) return p;
  const remaining = p.remaining === undefined ? undefined : Math.max(p.remaining - ahead, 0);
  return { ...p, rows: p.rows + ahead, ...(remaining !== undefined ? { remaining, etaSeconds: p.rate > 0 ? Math.round(remaining / p.rate) : undefined } : {}) };
}

export function formatRate(n: number): string {
  return `${Math.round(n).toLocaleString('en-US')} rows/s`;
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

export function progressLine(p: Progress): string {
  const of = p.total ? ` / ${p.total.toLocaleString('en-US')} (${Math.floor((100 * p.rows) / p.total)}%)` : '';
  return `${p.rows.toLocaleString('en-US')}${of} rows, ${formatRate(p.rate)}, ETA ${formatEta(p.etaSeconds)}, cursor ${JSON.stringify(p.cursor)}`;
}

/** `status`: a run waiting, before its first read, for the transactions writing its source table (writersWait). */
export function writersWaitLine(w: NonNullable<Progress['waitingForWriters']>, now = Date.now()): string {
  const waited = Math.max(0, Math.round((now - Date.parse(w.since)) / 1000));
  const who = `${w.who.slice(0, 5).join(', ')}${w.who.length > 5 ? ', …' : ''}`;
  return `the run waits up to ${Number((w.waitMs / 1000).toFixed(1))} s (source.writersWait) for ${w.who.length} transaction(s) writing ${w.table} to end before its first read (${who}), so rows they commit late are not missed; ${waited} s so far`;
}

/** `status`: the last run, with the records it sent to dead letters (an acceptance run: "completed, 3 rows" hid one refused). */
export function lastRunLine(id: string, last: { kind: string; status: string; rows_committed: string; rows_rejected?: string; started_at: string; error?: string | null }): string {
  const rejected = Number(last.rows_rejected ?? 0) ? `, ${last.rows_rejected} refused into dead letters (\`tidemark dead-letters ${id}\`)` : '';
  return `${last.kind} ${last.status}, ${last.rows_committed} rows${rejected}, started ${last.started_at}${last.error ? `, error: ${last.error}` : ''}`;
}
