import { CancelledFailure, Context, log } from '@temporalio/activity';
import { RunCancelledError } from './run-cancelled';
import { sourceAppName } from './run-lock';
import { stateDbUrlOf, type Integration } from '../config';
import { resolveIntegration } from '../instances/resolve-integration';
import { asFromError, type Cursor } from '../cursor/cursor';
import { cursorIdentity } from '../sources/cursor-shape';
import { checkCursorOf, savedForOther } from './stored-cursor';
import type pg from 'pg';
import { withStateSession } from '../db/state-session';
import * as state from '../db/state';
import { PermanentError } from '../errors';
import { createSource } from '../sources/create-source';
import { shardsRefusal } from '../sources/shard-support';
import { errorMessage, failsForGood, isInputError, toFailure } from './failures';
import { NothingToResumeError } from './start-position';
import { readResumeFound, resumeRefusal } from './resume-refusal';
import type { ActivityDeps } from './run-integration';
import type { BackfillPlan, RunResult } from './types';

export class ShardingNotSupportedError extends PermanentError {
  override readonly name = 'ShardingNotSupportedError';
}

export interface PlanInput {
  integration: string;
  runKey: string;
  /** New backfill: how many shards; ignored by a resume (it keeps the plan it continues). */
  shards: number;
  from?: Cursor;
  resume: boolean;
}

/** The integration (an instance `tpl/acme` from tidemark.instances, with its secrets in this run's env only). */
async function resolved(deps: ActivityDeps, integration: string): Promise<{ it: Integration; env: NodeJS.ProcessEnv }> {
  const { integration: it, env } = await resolveIntegration(deps.config(), integration, deps.env ?? process.env).catch((err: unknown) => {
    throw toFailure(err);
  });
  return { it, env };
}

/** Runs `fn` on the integration's state database (migrated), turning permanent errors into non-retryable failures. */
async function withStateDb<T>(deps: ActivityDeps, integration: string, fn: (db: pg.Client, it: Integration, env: NodeJS.ProcessEnv) => Promise<T>, connectTimeoutMs?: number): Promise<T> {
  const { it, env } = await resolved(deps, integration);
  return withStateDbOf(it, env, (db) => fn(db, it, env), connectTimeoutMs);
}

function withStateDbOf<T>(it: Integration, env: NodeJS.ProcessEnv, fn: (db: pg.Client) => Promise<T>, connectTimeoutMs?: number): Promise<T> {
  return withStateSession(stateDbUrlOf(it, env), { applicationName: 'tidemark-plan', mapError: toFailure, ...(connectTimeoutMs ? { connectTimeoutMs } : {}) }, fn);
}

/** How long marking a cancelled run may wait for the state database to answer a connect (its workflow tries 4 times). */
const RECORD_CANCEL_CONNECT_MS = 5_000;

interface Cut {
  from: Cursor;
  highWater: string | null;
  ranges: { from: Cursor; until: Cursor }[];
  /** The plan's warnings (a writer still open after writersWait): the shards prepare without a new range. */
  warnings: readonly string[];
}

/** The source's key range after `from`, cut into up to `shards` ranges (split(): a sample, or an API's probes). */
async function cutRange(it: Integration, env: NodeJS.ProcessEnv, input: PlanInput): Promise<Cut> {
  // From the config alone, as the CLI checks it: no connection, no request.
  const refusal = shardsRefusal(it.source);
  if (refusal) throw new ShardingNotSupportedError(`integration ${it.id}: ${refusal}`);
  // Named like a run's source session (run-lock.ts): `status` shows a plan blocked on a lock too.
  const source = await createSource(it.source, it.id, env, { applicationName: sourceAppName({ integration: input.integration, mode: 'backfill', runKey: input.runKey }, Context.current().info.attempt) });
  try {
    if (!source.split) throw new ShardingNotSupportedError(`integration ${it.id}: a ${source.kind} source cannot split its key range; run the backfill without --shards`);
    let from: Cursor;
    try {
      from = source.parseCursor(input.from ?? null);
    } catch (err) {
      throw asFromError(err);
    }
    const plan = await source.prepare({ newRange: true, signal: Context.current().cancellationSignal });
    const bounds = await source.split(from, input.shards);
    return { from, highWater: plan.highWater, ranges: [from, ...bounds].map((lower, i) => ({ from: lower, until: bounds[i] ?? null })), warnings: plan.warnings ?? [] };
  } finally {
    await source.close();
  }
}

/**
 * Heartbeats while `work` runs: a cancel reaches an activity only in a heartbeat's answer, and the cut may wait
 * for the source's writers up to a minute (writersWait).
 */
function beating<T>(work: Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), 1_000);
  return work.finally(() => clearInterval(timer));
}

/**
 * Before a sharded backfill: cut the source's key range into ranges of similar size (the source's
 * split(), from a sample, not a full scan) and make one checkpoint slot per range, owned by this run.
 * For a resume: take over the slots of the last sharded backfill and list the unfinished ones (none
 * there: the unsharded path resumes the 'backfill' slot).
 */
export function makePlanBackfill(deps: ActivityDeps) {
  return async function planBackfill(input: PlanInput): Promise<BackfillPlan> {
    const began = Date.now();
    const { it, env } = await resolved(deps, input.integration);
    // The cut (an API's probes: round trips) runs while the state session opens; its failure is thrown below.
    const cut = input.resume ? undefined : beating(cutRange(it, env, input));
    cut?.catch(() => undefined);
    return withStateDbOf(it, env, async (db) => {
      if (!cut) return resumePlan(db, it, input);
      const { from, highWater, ranges, warnings } = await cut.catch(async (err: unknown) => {
        // The run's row, with the error (a source table missing, a style that cannot split): `runs` shows the failure.
        // Bad input (a cursor the source refuses) writes nothing, nor does a cancel (its workflow records it).
        if (isInputError(err) || err instanceof CancelledFailure) throw err;
        const final = failsForGood(Context.current(), toFailure(err));
        const started = await state.startRun(db, input.runKey, it.id, 'backfill', (input.from ?? null) as Cursor, state.attemptInfoOf(Context.current().info, began)).catch(() => false);
        if (started) await state.finishRun(db, input.runKey, final ? 'failed' : 'running', errorMessage(err)).catch(() => undefined);
        throw err;
      });
      // The row first: a workflow cancelled while this planned has recorded the run cancelled, and then gets no slots.
      if (!(await state.startRun(db, input.runKey, it.id, 'backfill', from, state.attemptInfoOf(Context.current().info, began), ranges.length))) throw new RunCancelledError(input.runKey);
      await state.createShardSlots(db, it.id, input.runKey, highWater, ranges, cursorIdentity(it.source));
      for (const w of warnings) log.warn(w, { integration: it.id });
      await state.addRunWarnings(db, input.runKey, warnings);
      const note = ranges.length < input.shards ? `${input.shards} shards asked for, ${ranges.length} made: the range has too few rows to cut further` : undefined;
      log.info('sharded backfill planned', { integration: it.id, shards: ranges.length, bounds: ranges.slice(1).map((r) => r.from), highWater });
      return { sharded: true, todo: ranges.map((_, i) => i), total: ranges.length, ...(note ? { note } : {}) };
    });
  };
}

/** A resume: take over the slots of the last sharded backfill and list the unfinished ones. */
async function resumePlan(db: pg.Client, it: Integration, input: PlanInput): Promise<BackfillPlan> {
  const found = await readResumeFound(db, it.id);
  const slots = found.shards;
  if (!slots.length) return { sharded: false, todo: [], total: 0 };
  const refusal = resumeRefusal(it.id, found);
  if (refusal) throw new NothingToResumeError(refusal);
  // Slots of other cursor columns: refused before they are taken over (each shard would refuse its own).
  checkCursorOf(await state.readCheckpoint(db, it.id, state.shardSlot(slots[0]!.index)), cursorIdentity(it.source), it.id, state.shardSlot(slots[0]!.index));
  const todo = slots.filter((s) => s.status !== 'done').map((s) => s.index);
  if (!(await state.startRun(db, input.runKey, it.id, 'resume', null, {}, todo.length || undefined))) throw new RunCancelledError(input.runKey);
  await state.takeOverShardSlots(db, it.id, input.runKey);
  await state.abandonBackfillRuns(db, it.id, input.runKey);
  log.info('resuming sharded backfill', { integration: it.id, shards: slots.length, unfinished: todo });
  return { sharded: true, todo, total: slots.length };
}

/** After every shard returned: done when all slots are; the sync checkpoint continues from where the last range ends. */
export function makeFinishBackfill(deps: ActivityDeps) {
  return async function finishBackfill(input: { integration: string; runKey: string }): Promise<RunResult> {
    return withStateDb(deps, input.integration, async (db) => {
      const slots = await state.listShardSlots(db, input.integration);
      const done = slots.length > 0 && slots.every((s) => s.status === 'done');
      // Where the range to the high-water mark ended: kept by the slot that read it to its end (which may have
      // taken part of another range since), else where the slot reading it stands (the last one planned, or one
      // that took the end of its range).
      const ended = slots.find((s) => s.end !== undefined);
      const last = slots.find((s) => s.until === null) ?? slots[slots.length - 1];
      const cursor = ended ? (ended.end as Cursor) : (last?.cursor ?? null);
      if (done && cursor !== null) {
        // A sync checkpoint of other cursor columns is replaced by a backfill from the start, as unsharded (review).
        // What the slots' cursor is a position of (all are made alike).
        const cursorOf = (await state.readCheckpoint(db, input.integration, state.shardSlot((slots[0] as state.ShardSlot).index)))?.cursorOf ?? null;
        const sync = await state.readCheckpoint(db, input.integration, 'sync');
        const start = (await state.readRun(db, input.runKey))?.start_cursor;
        const replace = (start == null || start === 'null') && savedForOther(sync?.cursorOf, cursorOf);
        await state.seedSyncCheckpoint(db, input.integration, cursor, { cursorOf, replace });
      }
      await state.finishRun(db, input.runKey, done ? 'completed' : 'partial');
      if (done && cursor !== null) await state.setRunEndCursor(db, input.runKey, cursor);
      const run = await state.readRun(db, input.runKey);
      const rows = Number(run?.rows_committed ?? 0);
      const warnings = run?.warnings ?? [];
      const rejected = Number(run?.rows_rejected ?? 0);
      return { cursor, rows, done, ...(done ? {} : { stoppedBy: 'time-budget' as const }), ...(warnings.length ? { warnings } : {}), ...(rejected ? { rejected } : {}) };
    });
  };
}

/** A run cancelled between attempts (no activity running to record it): its row says cancelled, not running for good. */
export function makeRecordCancelled(deps: ActivityDeps) {
  return async function recordCancelled(input: { integration: string; runKey: string; kind?: state.RunKind; startedAt?: number }): Promise<void> {
    const started = input.kind ? { integration: input.integration, kind: input.kind, ...(input.startedAt ? { at: input.startedAt } : {}) } : undefined;
    await withStateDb(deps, input.integration, (db) => state.markRunCancelled(db, input.runKey, started), RECORD_CANCEL_CONNECT_MS);
  };
}

/** The 'tune' signal's effect: running activities of this run read it between batches. */
export function makeApplyTuning(deps: ActivityDeps) {
  return async function applyTuning(input: { integration: string; runKey: string; batchSize?: number; rowsPerSecond?: number }): Promise<void> {
    await withStateDb(deps, input.integration, (db) => state.setTuning(db, input.runKey, input.integration, input));
  };
}
