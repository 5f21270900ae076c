import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type pg from 'pg';
import { isPostgresSource, stateDbUrlOf, type Config, type Integration } from '../config';
import { createSource } from '../sources/create-source';
import type { Source } from '../sources/source';
import { checkCursorShape } from '../sources/cursor-shape';
import type { Cursor, JsonValue } from '../cursor/cursor';
import { closeQuietly } from '../pg/connect';
import * as state from '../db/state';
import { openStateSession } from '../db/state-session';
import { pagesToWrite } from './copy-pages';
import { noteInstanceFailure } from '../instances/needs-reauth';
import { InstanceNotActiveError, UnknownInstanceError } from '../instances/errors';
import { readInstance } from '../db/state/instances-read';
import { resolveIntegration } from '../instances/resolve-integration';
import { templateSlotsFor } from '../instances/template-slots';
import { errorMessage, failsForGood, isInputError, prefixed, toFailure } from './failures';
import { KeepAlive } from './keep-alive';
import { markDurable, runPageLoop, type LoopPosition, type PageLoop } from './page-loop';
import { movedEnd, stealWork, stopLooking } from './steal-work';
import { savedForOther } from './stored-cursor';
import type { EncodedPage, ReadOptions } from '../sources/source';
import type { RateLimit } from '../sources/combinators/throttle';
import { startEarly, type EarlyPages } from '../sources/combinators/start-early';
import { acquireRunLock, runLockTag, sourceAppName, type RunLock } from './run-lock';
import { prepareRun, type PreparedRun, type RunResources } from './run-setup';
import type { SourceSlots } from './source-slots';
import { retryDeadLettersOn } from '../transform/retry-dead-letters';
import { Tuner } from './tuner';
import type { RunInput, RunResult } from './types';

export interface ActivityDeps {
  /** The worker's config; read per run so a reloaded config applies to the next run. */
  config: () => Config;
  env?: NodeJS.ProcessEnv;
  /** How long a sync waits for the integration lock before reporting "busy" (ms). */
  syncLockWaitMs?: number;
  /**
   * Called after each committed batch: fault injection in tests (hang, crash) and embedding hooks. With it, pages
   * are written one at a time (none sent ahead, see send-ahead.ts): the hook sees the state after its batch and
   * nothing beyond, so a crash injected after batch k leaves exactly k batches.
   */
  afterBatch?: (info: { integration: string; attempt: number; pages: number; rows: number; signal: AbortSignal; shard?: number }) => Promise<void>;
  /** Per-worker cap on open source connections (shared by all runs on this worker). */
  sourceSlots?: SourceSlots;
}

/**
 * The one long-running activity: page through the source in cursor order, write each page and its
 * checkpoint in one transaction, heartbeat progress after each, stop at a batch boundary when
 * cancelled or out of time budget, and return the final cursor. This orchestrates: state session,
 * lock, source and start position (run-setup), the page loop (page-loop), then the run's end.
 */
export function makeRunIntegration(deps: ActivityDeps) {
  return async function runIntegration(input: RunInput): Promise<RunResult> {
    const ctx = Context.current();
    const started = Date.now();
    const res: RunResources = { runRow: false, stoppedAtBoundary: false };
    let lock: RunLock | undefined;
    try {
      // An instance (`tpl/acme`) is read from tidemark.instances now: workers need no restart to run new ones.
      const resolved = await resolveIntegration(deps.config(), input.integration, deps.env ?? process.env);
      const it = resolved.integration;
      res.integrationId = it.id;
      const runDeps = resolved.instance ? { ...deps, env: resolved.env } : deps; // an instance's decrypted secrets, for this run only
      // A `from` of the wrong shape fails at once, from the config alone: not after the lock (an acceptance run waited
      // 4-11 s behind a schedule's syncs to be told). Its values in the column types are checked where the source reads.
      if (input.mode === 'backfill' && input.from !== undefined && input.from !== null) checkCursorShape(it.source, input.from);
      const sinkUrl = stateDbUrlOf(it, runDeps.env);
      openSourceEarly(runDeps, it, sinkUrl, res, sourceAppName(input, ctx.info.attempt));
      res.stateDb = await openStateSession(sinkUrl, { applicationName: runLockTag(input, ctx.info.attempt) });
      const got = await acquireRunLock(ctx, res.stateDb, input, deps.syncLockWaitMs ?? 10_000, templateSlotsFor(deps.config(), input.integration));
      if ('busy' in got) return await skipBusyRun(res.stateDb, it, input, got.busy);
      lock = got;
      // Read again under the lock: `instances remove` (or pause) may have come between the first read and the lock,
      // holding it while it removed the instance (the review).
      if (resolved.instance) await stillActive(res.stateDb, input.integration, resolved.instance);
      res.releaseSourceSlot ??= await deps.sourceSlots?.acquire(ctx);
      return await runLocked(ctx, runDeps, input, it, sinkUrl, started, res);
    } catch (err) {
      const template = deps.config().templates?.find((t) => input.integration.startsWith(`${t.id}/`));
      await noteInstanceFailure(ctx, res.stateDb, input.integration, err, template); // a refused credential: needs_reauth
      throw await recordFailure(ctx, err, input, res);
    } finally {
      await lock?.release().catch(() => undefined);
      await res.source?.close();
      // Opened early but never used (busy, or a failure before the source was needed).
      if (!res.source) await res.opening?.then((s) => s.close()).catch(() => undefined);
      res.pgSink?.close();
      await res.sink?.close().catch((err: unknown) => log.warn('sink did not close cleanly', { error: errorMessage(err) }));
      res.releaseSourceSlot?.();
      await closeQuietly(res.stateDb);
    }
  };
}

/**
 * A PostgreSQL source's connection is opened while the state session opens and the lock is taken (a sync pays
 * both per run, one after the other before), when a source slot is free at once. Its failure surfaces where the
 * source is first used, as before; a busy run closes it unused.
 */
function openSourceEarly(deps: ActivityDeps, it: Integration, sinkUrl: string, res: RunResources, applicationName: string): void {
  if (!isPostgresSource(it.source)) return;
  const release = deps.sourceSlots ? deps.sourceSlots.tryAcquire() : () => undefined;
  if (!release) return;
  if (deps.sourceSlots) res.releaseSourceSlot = release;
  res.opening = createSource(it.source, it.id, deps.env, { stateDbUrl: sinkUrl, applicationName });
  res.opening.catch(() => undefined); // awaited where the source is first used
}

/** Another run holds the lock: this sync run is recorded as skipped. */
async function skipBusyRun(db: pg.Client, it: Integration, input: RunInput, why: string): Promise<RunResult> {
  log.warn(`integration busy: ${why}; this sync run is skipped`, { integration: it.id });
  // The checkpoint is where the next run starts; the result only cross-checks it, so report it.
  const cp = await state.readCheckpoint(db, it.id, 'sync');
  const at = cp ? cp.cursor : (input.after ?? null);
  await state.startRun(db, input.runKey, it.id, input.mode, at);
  await state.finishRun(db, input.runKey, 'skipped', why);
  return { cursor: at, rows: 0, done: false, stoppedBy: 'busy' };
}

/** With the lock held: prepare, run the page loop, and finish the checkpoint and the run's row. */
async function runLocked(ctx: Context, deps: ActivityDeps, input: RunInput, it: Integration, sinkUrl: string, started: number, res: RunResources): Promise<RunResult> {
  const db = res.stateDb as pg.Client;
  // Until the first page, a retry's details stay those of the previous attempt.
  const alive = new KeepAlive(ctx, () => ctx.info.heartbeatDetails);
  // Until the meter exists (the run prepared), a wait for the source beats with the previous attempt's details.
  let beat = () => ctx.heartbeat(alive.details());
  // Aborts the first read when the run fails before the page loop takes it (a sink that cannot be prepared).
  const unread = new AbortController();
  const readOpts: ReadOptions = { limit: it.batchSize, signal: AbortSignal.any([ctx.cancellationSignal, unread.signal]), onIdle: () => beat() };
  const rate: RateLimit = { rowsPerSecond: undefined };
  const tuner = new Tuner(db, input.runKey, readOpts, rate, input.shards ?? 1);
  tuner.apply({ rowsPerSecond: it.rateLimit });
  tuner.apply(input.tuning);
  // The first page is read while the sink prepares (see startEarly), with the tuned size and the shard's end.
  let early: EarlyPages<EncodedPage> | undefined;
  let run: PreparedRun;
  try {
    run = await prepareRun(ctx, deps, input, it, sinkUrl, alive, res, rate, async (source, at, pipeline) => {
      await tuner.poll();
      if (input.shard !== undefined && at.until !== null) readOpts.until = at.until;
      early = startEarly(pagesToWrite(source, at.cursor, readOpts, pipeline));
    });
    if (it.retryDeadLetters === 'eachRun' && input.shard === undefined) await alive.during(() => retryLettersFirst(db, it, deps));
  } catch (err) {
    // The setup's error stands: the first read is aborted and closed, whatever that says.
    const pending = early;
    unread.abort();
    if (pending) await alive.during(() => pending.close()).catch(() => undefined);
    throw err;
  }
  const { start, meter } = run;
  const position: LoopPosition = { cursor: start.cursor, durable: start.cursor, durableAt: Date.now() };
  // The last flushed page's cursor: a crash of PostgreSQL can take later pages back with their checkpoints.
  const details = () => ({ ...meter.snapshot(position.durable), batchSize: readOpts.limit });
  beat = () => ctx.heartbeat(details());
  alive.details = details;
  const stop = () => {
    res.stoppedAtBoundary = true;
    return stopForCancellation(ctx, db, input.runKey, run.rowsOfThisRun());
  };
  const deadline = it.maxRunDuration !== undefined ? started + it.maxRunDuration : undefined;
  const loop: PageLoop = { ctx, deps, input, integration: it.id, db, sink: run.sink, slot: start.slot, targetColumns: run.targetColumns, alive, meter, tuner, beat, position, stopForCancellation: stop, ...(deadline !== undefined ? { deadline } : {}) };
  // A shard reads its range up to its end (the source stops there; its checkpoints are fenced on it).
  const readTo = (until: Cursor) => {
    if (until === null) delete readOpts.until;
    else readOpts.until = until;
    loop.until = until;
  };
  if (input.shard !== undefined) readTo(start.until);
  const scale = input.shard !== undefined && run.sink.kind === 'postgres' ? run.source.rangeScale : undefined;
  // Its pages in flight that lie before a cut another shard makes still commit (see PageRecord.cursorKey).
  if (scale) loop.keyOf = (cursor) => scale.key(cursor);
  // This attempt, as it waits for the work-stealing probes: it stops waiting however the run ends (a take, then a
  // time budget or a failure, left the probes running: the review).
  const looker = {};
  try {
    return await readAndTake();
  } finally {
    if (scale) stopLooking(input, looker);
  }

  async function readAndTake(): Promise<RunResult> {
    for (;;) {
      let ended: Awaited<ReturnType<typeof runPageLoop>>;
      try {
        const pages = early ?? pagesToWrite(run.source, position.cursor, readOpts, run.pipeline);
        early = undefined;
        ended = await runPageLoop({ ...loop }, pages);
      } catch (err) {
        const moved = await movedEnd(err, db, input, start.slot, loop.until);
        if (!moved) throw err;
        log.info('another shard took the end of this range: reading on to its new end', { integration: it.id, shard: input.shard, from: position.cursor, until: moved.until });
        readTo(moved.until);
        continue;
      }
      // The result names the last page: it must be on disk before it leaves (finishRun writes nothing for a shard's time box).
      if (position.durable !== position.cursor) await state.flushCommits(db);
      markDurable(position, ended.cursor);
      if (ended.stoppedBy !== undefined || !scale) return finishLoop(db, input, it.id, start.slot, ended, run.rowsOfThisRun(), beat, run.source);
      await state.finishCheckpoint(db, it.id, start.slot, input.runKey);
      const took = await stealWork(db, scale, input, { pageSize: readOpts.limit, rated: it.source.kind === 'http' && it.source.requestsPerSecond !== undefined }, { beat, stop: () => ctx.cancellationSignal.aborted || (deadline !== undefined && Date.now() >= deadline) }, looker);
      if (!took) return finishLoop(db, input, it.id, start.slot, ended, run.rowsOfThisRun(), beat, run.source);
      log.info('range finished: took the end of another shard\'s range', { integration: it.id, shard: input.shard, from: took.cursor, until: took.until });
      Object.assign(position, { cursor: took.cursor });
      markDurable(position, took.cursor);
      readTo(took.until);
    }
  }
}

async function finishLoop(
  db: pg.Client,
  input: RunInput,
  id: string,
  slot: string,
  ended: { cursor: Cursor; stoppedBy?: RunResult['stoppedBy'] },
  rows: number,
  beat: () => void,
  source: Source,
): Promise<RunResult> {
  // The source's own report (an API's retries and waits), on the run's row for `runs` and `status`.
  const notes = source.notes?.() ?? [];
  if (notes.length) await state.addRunWarnings(db, input.runKey, notes);
  const result = await finishRun(db, input, id, slot, ended.cursor, ended.stoppedBy, rows, source);
  beat();
  return result;
}

/** `retryDeadLetters: eachRun`: the pending letters go again before the first page, under the run's lock. */
async function retryLettersFirst(db: pg.Client, it: Integration, deps: ActivityDeps): Promise<void> {
  const r = await retryDeadLettersOn(db, it, deps.env ?? process.env);
  if (r.pending) log.info('dead letters retried before the first page', { integration: it.id, pending: r.pending, written: r.written, stillFailing: r.stillFailing.length });
}

async function finishRun(db: pg.Client, input: RunInput, id: string, slot: string, cursor: Cursor, stoppedBy: RunResult['stoppedBy'], rows: number, source: Source): Promise<RunResult> {
  const sharded = input.shard !== undefined;
  const done = stoppedBy === undefined;
  if (done) {
    await state.finishCheckpoint(db, id, slot, input.runKey);
    if (input.mode !== 'sync' && !sharded && cursor !== null) await state.seedSyncCheckpoint(db, id, cursor, await syncHandOff(db, id, slot, cursor, source));
  }
  const { warnings, rejected } = sharded ? { warnings: [], rejected: 0 } : await state.finishRun(db, input.runKey, done ? 'completed' : 'partial');
  log.info('run finished', { integration: id, rows, done, stoppedBy });
  return { cursor, rows, done, ...(stoppedBy ? { stoppedBy } : {}), ...(warnings.length ? { warnings } : {}), ...(rejected ? { rejected } : {}) };
}

/**
 * Whether a completed backfill read past the sync checkpoint from the source's start (its slot's start is null): then
 * the next sync goes on from where it ended, not from the older checkpoint (an acceptance run: a second backfill left
 * the sync to read 300 rows again). Never backwards (a resumed old backfill ends before syncs since), and not from a
 * `--from`, which did not read what lies before its start. A sync checkpoint of other cursor columns is replaced by a
 * backfill from the start (its position means nothing now). With what the cursor is a position of, saved with it.
 */
async function syncHandOff(db: pg.Client, id: string, slot: string, cursor: Cursor, source: Source): Promise<{ replace: boolean; cursorOf: JsonValue }> {
  const [own, sync] = await Promise.all([state.readCheckpoint(db, id, slot), state.readCheckpoint(db, id, 'sync')]);
  const cursorOf = own?.cursorOf ?? null;
  if (!own || own.startCursor !== null || !sync || sync.cursor === null) return { replace: false, cursorOf };
  if (savedForOther(sync.cursorOf, cursorOf)) return { replace: true, cursorOf };
  const later = await source.later(cursor, sync.cursor).catch(() => undefined);
  return { replace: JSON.stringify(later) === JSON.stringify(cursor) && JSON.stringify(cursor) !== JSON.stringify(sync.cursor), cursorOf };
}

/** Records a failed or cancelled run on its row (when it has one) and returns the failure to throw. */
async function recordFailure(ctx: Context, err: unknown, input: RunInput, res: RunResources): Promise<unknown> {
  const failure = toFailure(err);
  const { stateDb, runRow } = res;
  const sharded = input.shard !== undefined;
  if (err instanceof CancelledFailure && !res.stoppedAtBoundary && stateDb && runRow && !sharded) {
    // Cancelled while a page was being read (the source cancels its query): nothing of that page was written.
    const gone = ctx.cancellationDetails?.notFound;
    const why = gone ? 'its workflow was terminated or timed out while a page was being read' : 'cancelled while a page was being read; the checkpoint is consistent';
    await state.finishRun(stateDb, input.runKey, gone ? 'failed' : 'cancelled', why).catch(() => undefined);
  }
  if (stateDb && !runRow && !sharded && res.integrationId && !isInputError(err) && !(err instanceof CancelledFailure)) {
    // Failed before its row existed (a source table missing, a secret unset, a cursor the source refuses): the row
    // now, with the error, so `runs` and `status --all` show the failure. A retry counts an attempt on it.
    res.runRow = await state.startRun(stateDb, input.runKey, res.integrationId, input.mode, null, state.attemptInfoOf(ctx.info)).catch(() => false);
  }
  if (stateDb && res.runRow && !(err instanceof CancelledFailure)) {
    const final = failsForGood(ctx, failure);
    // A retryable failure leaves the run 'running': the next attempt continues it (unless this was the last one).
    await state.finishRun(stateDb, input.runKey, final ? 'failed' : 'running', errorMessage(err)).catch(() => undefined);
  }
  // A shard's failure names its slot, as `status` lists them: `--wait`'s retry lines and the run's failure did not
  // say which of the shards failed (an acceptance run).
  return sharded && !(err instanceof CancelledFailure) ? prefixed(failure, `shard ${state.shardSlot(input.shard as number)}: `) : failure;
}

/** Called only at a batch boundary, so the checkpoint already covers everything written. */
async function stopForCancellation(ctx: Context, db: pg.Client, runKey: string, rows: number): Promise<never> {
  const details = ctx.cancellationDetails;
  if (details?.workerShutdown) {
    await state.finishRun(db, runKey, 'running', 'worker shut down; the run continues on the next attempt');
    throw ApplicationFailure.retryable(`worker shutting down after ${rows} rows; the next attempt resumes from the checkpoint`, 'WorkerShutdown');
  }
  if (details?.notFound) {
    // The workflow is gone (terminated, timed out, reset): `tidemark resume` continues from the checkpoint.
    await state.finishRun(db, runKey, 'failed', 'its workflow was terminated or timed out; stopped at a batch boundary');
  } else {
    await state.finishRun(db, runKey, 'cancelled', details?.timedOut ? 'activity timed out' : 'cancelled');
  }
  throw new CancelledFailure(`cancelled at a batch boundary after ${rows} rows; the checkpoint is consistent`);
}

/** The instance as the run found it is still there and active (it is read once more, under the run's lock). */
async function stillActive(db: pg.Client, id: string, was: { template: string; instanceId: string }): Promise<void> {
  const row = await readInstance(db, was.template, was.instanceId);
  if (!row) throw new UnknownInstanceError(id);
  if (row.status !== 'active') throw new InstanceNotActiveError(id, row.status, row.reason);
}
