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
import { deadLetterOf, writeIsolatingBadRows } from './isolate-bad-rows';
import { KeepAlive } from './keep-alive';
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
    let stoppedAtBoundary = false;
    try {
      const it = getIntegration(deps.config(), input.integration);
      const sinkUrl = resolveEnvRefs(it.sink.url, `integrations[${it.id}].sink.url`, deps.env);
      stateDb = await connect(sinkUrl, { applicationName: runLockTag(input, ctx.info.attempt) });
      await migrate(stateDb);
      lock = await acquireRunLock(ctx, stateDb, input, deps.syncLockWaitMs ?? 10_000);
      if (!lock) {
        log.warn('integration busy: another run holds its lock; this sync run is skipped', { integration: it.id });
        // The checkpoint is where the next run starts; the result only cross-checks it, so report it.
        const cp = await state.readCheckpoint(stateDb, it.id, 'sync');
        const at = cp ? cp.cursor : (input.after ?? null);
        await state.startRun(stateDb, input.runKey, it.id, input.mode, at);
        await state.finishRun(stateDb, input.runKey, 'skipped', 'another run of this integration was writing');
        return { cursor: at, rows: 0, done: false, stoppedBy: 'busy' };
      }
      releaseSourceSlot = await deps.sourceSlots?.acquire(ctx);
      // Until the first page, a retry's details stay those of the previous attempt.
      const alive = new KeepAlive(ctx, () => ctx.info.heartbeatDetails);
      // Set by the tuner below (config rateLimit, then the run's own): mutable, so a tune applies mid-run.
      const rate: RateLimit = { rowsPerSecond: undefined };
      const src = (source = throttle(await alive.during(() => createSource(it.source, it.id, deps.env, { stateDbUrl: sinkUrl })), rate));
      const db = stateDb;
      const hb = ctx.info.heartbeatDetails as Progress | undefined;
      const start = await alive.during(() => startPosition(db, src, input, hb?.cursor));
      // A sharded run's row is started by planBackfill and finished by finishBackfill; shards add to it.
      if (!sharded) await state.startRun(stateDb, input.runKey, it.id, input.mode, start.cursor);
      runRow = true;
      if (input.mode === 'resume' && !sharded) await state.abandonBackfillRuns(stateDb, it.id, input.runKey);
      const pipeline = RecordPipeline.needed(it.mapping, it.validate) ? new RecordPipeline(start.plan.columns, it.mapping, it.validate) : undefined;
      const sink = new PostgresSink(stateDb, it.sink, it.id);
      // Without a mapping, target rows are source rows: a sink key that is unique in the source cannot repeat in a page.
      const keyUniqueInPage = !pipeline && !!start.plan.uniqueKeys?.some((k) => k.every((c) => it.sink.key.includes(c)));
      const targetColumns = (pipeline?.columns ?? start.plan.columns).map((c) => c.name);
      await alive.during(() => sink.prepare(pipeline?.columns ?? start.plan.columns, { keyUniqueInPage }));
      const total = src.estimateRemaining ? await alive.during(async () => src.estimateRemaining?.(start.cursor, start.until ?? undefined)) : undefined;
      const meter = new ProgressMeter({ integration: it.id, slot: start.slot, attempt: ctx.info.attempt }, total, start.slotRowsBefore);
      const rowsOfThisRun = () => meter.rows - start.slotRowsBefore + start.runRowsBefore;
      log.info('run starting', { integration: it.id, mode: input.mode, read: start.plan.describe, after: start.cursor, remaining: total });
      const warnings = [...(start.plan.warnings ?? []), ...start.warnings];
      for (const w of warnings) log.warn(w, { integration: it.id });
      await state.addRunWarnings(stateDb, input.runKey, warnings);
      ctx.heartbeat(meter.snapshot(start.cursor));

      let cursor: Cursor = start.cursor;
      let stoppedBy: RunResult['stoppedBy'];
      const details = () => ({ ...meter.snapshot(cursor), batchSize: readOpts.limit });
      const beat = () => ctx.heartbeat(details());
      alive.details = details;
      const readOpts = { limit: it.batchSize, signal: ctx.cancellationSignal, onIdle: beat, ...(start.until !== null ? { until: start.until } : {}) };
      const tuner = new Tuner(stateDb, input.runKey, readOpts, rate, input.shards ?? 1);
      tuner.apply({ rowsPerSecond: it.rateLimit });
      tuner.apply(input.tuning);
      await tuner.poll();
      // COPY text straight through when the source can produce it and nothing transforms records;
      // otherwise rows are mapped, validated (rejects go to dead letters) and encoded.
      const pages: AsyncIterable<EncodedPage> = source.copyPages && !pipeline ? source.copyPages(cursor, readOpts) : asCopyPages(source.pages(cursor, readOpts), pipeline);
      const iter = prefetch(pages)[Symbol.asyncIterator]();
      try {
        for (;;) {
          // Heartbeats keep going while the page is read and written (see KeepAlive), not during afterBatch.
          const next = await alive.during(() => iter.next());
          if (next.done) break;
          const page = next.value;
          await alive.during(async () => {
            await state.countRowsRead(db, input.runKey, page.count);
            const rejected = page.rejected ?? [];
            const where = `integration ${it.id}, page after cursor ${JSON.stringify(cursor)}`;
            // Rows the target refuses (a constraint) go to dead letters with the rest of the page; see isolate-bad-rows.
            const { bad } = await writeIsolatingBadRows(sink, page.data, page.count - rejected.length, async (tx, res, refused) => {
              await state.insertDeadLetters(tx, it.id, input.runKey, page.cursor, [...rejected, ...refused.map((r) => deadLetterOf(r, targetColumns))]);
              await state.saveCheckpoint(tx, it.id, start.slot, input.runKey, page.cursor, page.count);
              await state.recordBatch(tx, input.runKey, page.count, res.written, page.cursor, rejected.length + refused.length);
            }, where);
            if (bad.length) log.warn(`${bad.length} row(s) refused by the target went to dead letters`, { integration: it.id, first: bad[0]?.error.message });
            cursor = page.cursor;
            meter.add(page.count);
            await tuner.poll();
          });
          beat();
          await deps.afterBatch?.({ integration: it.id, attempt: ctx.info.attempt, pages: meter.pages, rows: meter.rows, signal: ctx.cancellationSignal, shard: input.shard });
          if (ctx.cancellationSignal.aborted) {
            stoppedAtBoundary = true;
            await stopForCancellation(ctx, db, input.runKey, rowsOfThisRun());
          }
          if (it.maxRunDuration !== undefined && Date.now() - started >= it.maxRunDuration) {
            stoppedBy = 'time-budget';
            break;
          }
        }
      } finally {
        await iter.return(undefined);
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
      if (err instanceof CancelledFailure && !stoppedAtBoundary && stateDb && runRow && !sharded) {
        // Cancelled while a page was being read (the source cancels its query): nothing of that page was written.
        const gone = ctx.cancellationDetails?.notFound;
        const why = gone ? 'its workflow was terminated or timed out while a page was being read' : 'cancelled while a page was being read; the checkpoint is consistent';
        await state.finishRun(stateDb, input.runKey, gone ? 'failed' : 'cancelled', why).catch(() => undefined);
      }
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
