import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type pg from 'pg';
import { getIntegration, resolveEnvRefs, type Config } from '../config';
import type { Cursor } from '../cursor/cursor';
import { closeQuietly, connect } from '../db/connect';
import { migrate } from '../db/migrate';
import * as state from '../db/state';
import { PostgresSink } from '../sinks/postgres-sink';
import { createSource } from '../sources/create-source';
import { asCopyPages, type EncodedPage } from '../sinks/copy-text';
import { RecordPipeline } from '../transform/record-pipeline';
import { prefetch } from '../sources/combinators/prefetch';
import { throttle, type RateLimit } from '../sources/combinators/throttle';
import type { Source } from '../sources/source';
import { errorMessage, toFailure } from './failures';
import { acquireRunLock, runLockTag, type RunLock } from './run-lock';
import type { SourceSlots } from './source-slots';
import { Tuner } from './tuner';
import { ProgressMeter } from './progress';
import { startPosition } from './start-position';
import type { Progress, RunInput, RunResult } from './types';

export interface ActivityDeps {
  /** The worker's config; read per run so a reloaded config applies to the next run. */
  config: () => Config;
  env?: NodeJS.ProcessEnv;
  /** How long a sync waits for the integration lock before reporting "busy" (ms). */
  syncLockWaitMs?: number;
  /** Called after each committed batch: fault injection in tests (hang, crash) and embedding hooks. */
  afterBatch?: (info: { integration: string; attempt: number; pages: number; rows: number; signal: AbortSignal; shard?: number }) => Promise<void>;
  /** Per-worker cap on open source connections (shared by all runs on this worker). */
  sourceSlots?: SourceSlots;
}

/**
 * The one long-running activity: page through the source in cursor order, write each page and its
 * checkpoint in one transaction, heartbeat progress after each, stop at a batch boundary when
 * cancelled or out of time budget, and return the final cursor.
 */
export function makeRunIntegration(deps: ActivityDeps) {
  return async function runIntegration(input: RunInput): Promise<RunResult> {
    const ctx = Context.current();
    const started = Date.now();
    let stateDb: pg.Client | undefined;
    let source: Source | undefined;
    let lock: RunLock | undefined;
    let releaseSourceSlot: (() => void) | undefined;
    let runRow = false;
    const sharded = input.shard !== undefined;
    try {
      const it = getIntegration(deps.config(), input.integration);
      const sinkUrl = resolveEnvRefs(it.sink.url, `integrations[${it.id}].sink.url`, deps.env);
      stateDb = await connect(sinkUrl, { applicationName: runLockTag(input, ctx.info.attempt) });
      await migrate(stateDb);
      lock = await acquireRunLock(ctx, stateDb, input, deps.syncLockWaitMs ?? 10_000);
      if (!lock) {
        log.warn('integration busy: another run holds its lock; this sync run is skipped', { integration: it.id });
        await state.startRun(stateDb, input.runKey, it.id, input.mode, input.after ?? null);
        await state.finishRun(stateDb, input.runKey, 'skipped', 'another run of this integration was writing');
        return { cursor: input.after ?? null, rows: 0, done: false, stoppedBy: 'busy' };
      }
      releaseSourceSlot = await deps.sourceSlots?.acquire(ctx);
      // Set by the tuner below (config rateLimit, then the run's own): mutable, so a tune applies mid-run.
      const rate: RateLimit = { rowsPerSecond: undefined };
      source = throttle(await createSource(it.source, it.id, deps.env), rate);
      const hb = ctx.info.heartbeatDetails as Progress | undefined;
      const start = await startPosition(stateDb, source, input, hb?.cursor);
      // A sharded run's row is started by planBackfill and finished by finishBackfill; shards add to it.
      if (!sharded) await state.startRun(stateDb, input.runKey, it.id, input.mode, start.cursor);
      runRow = true;
      if (input.mode === 'resume' && !sharded) await state.abandonBackfillRuns(stateDb, it.id, input.runKey);
      const pipeline = RecordPipeline.needed(it.mapping, it.validate) ? new RecordPipeline(start.plan.columns, it.mapping, it.validate) : undefined;
      const sink = new PostgresSink(stateDb, it.sink, it.id);
      // Without a mapping, target rows are source rows: a sink key that is unique in the source cannot repeat in a page.
      const keyUniqueInPage = !pipeline && !!start.plan.uniqueKeys?.some((k) => k.every((c) => it.sink.key.includes(c)));
      await sink.prepare(pipeline?.columns ?? start.plan.columns, { keyUniqueInPage });
      const total = source.estimateRemaining ? await source.estimateRemaining(start.cursor, start.until ?? undefined) : undefined;
      const meter = new ProgressMeter({ integration: it.id, slot: start.slot, attempt: ctx.info.attempt }, total, start.slotRowsBefore);
      const rowsOfThisRun = () => meter.rows - start.slotRowsBefore + start.runRowsBefore;
      log.info('run starting', { integration: it.id, mode: input.mode, read: start.plan.describe, after: start.cursor, remaining: total });
      ctx.heartbeat(meter.snapshot(start.cursor));

      let cursor: Cursor = start.cursor;
      let stoppedBy: RunResult['stoppedBy'];
      const beat = () => ctx.heartbeat({ ...meter.snapshot(cursor), batchSize: readOpts.limit });
      const readOpts = { limit: it.batchSize, signal: ctx.cancellationSignal, onIdle: beat, ...(start.until !== null ? { until: start.until } : {}) };
      const tuner = new Tuner(stateDb, input.runKey, readOpts, rate, input.shards ?? 1);
      tuner.apply({ rowsPerSecond: it.rateLimit });
      tuner.apply(input.tuning);
      await tuner.poll();
      // COPY text straight through when the source can produce it and nothing transforms records;
      // otherwise rows are mapped, validated (rejects go to dead letters) and encoded.
      const pages: AsyncIterable<EncodedPage> = source.copyPages && !pipeline ? source.copyPages(cursor, readOpts) : asCopyPages(source.pages(cursor, readOpts), pipeline);
      for await (const page of prefetch(pages)) {
        await state.countRowsRead(stateDb, input.runKey, page.count);
        const rejected = page.rejected ?? [];
        await sink.writeCopy(page.data, page.count - rejected.length, async (tx, res) => {
          await state.insertDeadLetters(tx, it.id, input.runKey, page.cursor, rejected);
          await state.saveCheckpoint(tx, it.id, start.slot, input.runKey, page.cursor, page.count);
          await state.recordBatch(tx, input.runKey, page.count, res.written, page.cursor, rejected.length);
        });
        cursor = page.cursor;
        meter.add(page.count);
        await tuner.poll();
        beat();
        await deps.afterBatch?.({ integration: it.id, attempt: ctx.info.attempt, pages: meter.pages, rows: meter.rows, signal: ctx.cancellationSignal, shard: input.shard });
        if (ctx.cancellationSignal.aborted) await stopForCancellation(ctx, stateDb, input.runKey, rowsOfThisRun());
        if (it.maxRunDuration !== undefined && Date.now() - started >= it.maxRunDuration) {
          stoppedBy = 'time-budget';
          break;
        }
      }
      const done = stoppedBy === undefined;
      if (done) {
        await state.finishCheckpoint(stateDb, it.id, start.slot, input.runKey);
        if (input.mode !== 'sync' && !sharded && cursor !== null) await state.seedSyncCheckpoint(stateDb, it.id, cursor);
      }
      if (!sharded) await state.finishRun(stateDb, input.runKey, done ? 'completed' : 'partial');
      log.info('run finished', { integration: it.id, rows: rowsOfThisRun(), done, stoppedBy });
      return { cursor, rows: rowsOfThisRun(), done, ...(stoppedBy ? { stoppedBy } : {}) };
    } catch (err) {
      const failure = toFailure(err);
      if (stateDb && runRow && !(err instanceof CancelledFailure)) {
        const final = failure instanceof ApplicationFailure && failure.nonRetryable;
        // A retryable failure leaves the run 'running': the next attempt continues it.
        await state.finishRun(stateDb, input.runKey, final ? 'failed' : 'running', errorMessage(err)).catch(() => undefined);
      }
      throw failure;
    } finally {
      await lock?.release().catch(() => undefined);
      await source?.close();
      releaseSourceSlot?.();
      await closeQuietly(stateDb);
    }
  };
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
