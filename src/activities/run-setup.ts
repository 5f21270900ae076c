import { log, type Context } from '@temporalio/activity';
import { RunCancelledError } from './run-cancelled';
import { sourceAppName } from './run-lock';
import type pg from 'pg';
import { isPostgresSink, type Integration } from '../config';
import * as state from '../db/state';
import { createSink } from '../sinks/create-sink';
import { PostgresSink } from '../sinks/postgres-sink';
import type { Sink } from '../sinks/sink';
import { throttle, type RateLimit } from '../sources/combinators/throttle';
import { createSource } from '../sources/create-source';
import { cursorIdentity } from '../sources/cursor-shape';
import { withInstanceColumn } from '../instances/instance-column';
import type { ColumnSpec, Source, WritersWait } from '../sources/source';
import { RecordPipeline } from '../transform/record-pipeline';
import type { KeepAlive } from './keep-alive';
import { ProgressMeter } from './progress';
import type { ActivityDeps } from './run-integration';
import { startPosition, type StartPosition } from './start-position';
import type { Progress, RunInput } from './types';

/** What a run opened and must close or finish, whatever happens (see runIntegration's catch and finally). */
export interface RunResources {
  stateDb?: pg.Client;
  source?: Source;
  /** A sink through the Sink contract (http, custom): closed when the run ends. */
  sink?: Sink;
  /** The PostgreSQL sink: its second connection (pages sent ahead) is closed when the run ends. */
  pgSink?: PostgresSink;
  releaseSourceSlot?: () => void;
  /** The source, opened while the state session opened (see openSourceEarly): used instead of opening another. */
  opening?: Promise<Source>;
  /** The run's row in tidemark.runs exists: failures are recorded on it. */
  runRow: boolean;
  /** The integration's id once resolved: a run that fails before its row exists gets one (recordFailure). */
  integrationId?: string;
  /** Stopped for cancellation at a batch boundary (the run's row already says why). */
  stoppedAtBoundary: boolean;
}

/** Where a run's pages go: the PostgreSQL sink's COPY path (benchmarked, unchanged), or any sink through the Sink contract. */
export type RunSink = { kind: 'postgres'; sink: PostgresSink } | { kind: 'contract'; sink: Sink };

export interface PreparedRun {
  source: Source;
  start: StartPosition;
  pipeline?: RecordPipeline;
  sink: RunSink;
  targetColumns: string[];
  meter: ProgressMeter;
  rowsOfThisRun: () => number;
}

/**
 * Everything before the first page: the (throttled) source, where the run starts, its row in
 * tidemark.runs, the record pipeline, the prepared sink, the progress meter, and the plan's warnings.
 */
export async function prepareRun(
  ctx: Context,
  deps: ActivityDeps,
  input: RunInput,
  it: Integration,
  sinkUrl: string,
  alive: KeepAlive,
  res: RunResources,
  rate: RateLimit,
  /** Once the source and where it starts are known, before the sink is prepared: the run starts its first read. */
  beforeSink: (source: Source, start: StartPosition, pipeline: RecordPipeline | undefined) => Promise<void>,
): Promise<PreparedRun> {
  const db = res.stateDb as pg.Client;
  const sharded = input.shard !== undefined;
  const began = Date.now();
  const opened = await alive.during(() => res.opening ?? createSource(it.source, it.id, deps.env, { stateDbUrl: sinkUrl, applicationName: sourceAppName(input, ctx.info.attempt) }));
  const source = (res.source = throttle(withInstanceColumn(opened, it), rate));
  const hb = ctx.info.heartbeatDetails as Progress | undefined;
  const start = await alive.during(() => withWritersWaitShown(ctx, alive, (shown) => startPosition(db, source, input, hb?.cursor, { signal: ctx.cancellationSignal, onWritersWait: shown, cursorOf: cursorIdentity(it.source) })));
  // A sharded run's row is started by planBackfill and finished by finishBackfill; shards add to it.
  if (!sharded && !(await state.startRun(db, input.runKey, it.id, input.mode, start.cursor, state.attemptInfoOf(ctx.info, began)))) {
    throw new RunCancelledError(input.runKey);
  }
  if (sharded) await state.noteShardAttempt(db, input.runKey, ctx.info.attempt);
  res.runRow = true;
  if (input.mode === 'resume' && !sharded) await state.abandonBackfillRuns(db, it.id, input.runKey);
  if (input.mode === 'sync') await state.abandonSyncRuns(db, it.id, input.runKey);
  const pipeline = RecordPipeline.needed(it.mapping, it.validate) ? new RecordPipeline(start.plan.columns, it.mapping, it.validate) : undefined;
  const columns = pipeline?.columns ?? start.plan.columns;
  const targetColumns = columns.map((c) => c.name);
  // The source estimates what is left on its own connection while the sink prepares on the state session's.
  const estimate = source.estimateRemaining ? alive.during(async () => source.estimateRemaining?.(start.cursor, start.until ?? undefined)) : Promise.resolve(undefined);
  estimate.catch(() => undefined); // awaited below; a failing sink setup must not leave it unhandled
  // A source that estimates on its one session (PostgreSQL) reads once the estimate is done: its statements would
  // share it (and a cancelled read cancels whatever statement runs there).
  const settled = estimate.then(
    () => undefined,
    () => undefined,
  );
  const reading = source.estimateRemaining ? settled.then(() => beforeSink(source, start, pipeline)) : beforeSink(source, start, pipeline);
  reading.catch(() => undefined); // awaited below
  let sink: RunSink;
  try {
    // A sync, a resume or a retried attempt continues from committed rows: their target must still be there.
    // A sync's checkpoint with a cursor was written after rows were (or set on purpose); a backfill or resume counts its rows.
    const committed = input.mode === 'sync' ? start.cursor !== null : start.runRowsBefore > 0 || start.slotRowsBefore > 0;
    const continues = committed && start.cursor !== null ? JSON.stringify(start.cursor) : undefined;
    sink = await prepareSink(deps, it, sinkUrl, alive, res, columns, pipeline ? undefined : start.plan.uniqueKeys, continues);
  } catch (err) {
    await reading.catch(() => undefined); // what it started, the caller closes
    throw err;
  }
  // Rows written before a column was added hold NULL in it until they change (an acceptance run: nothing said so), also
  // when someone added it to the target by hand once the source had it (acceptance L: the run could not alter a table it
  // does not own, a DBA did, and the next run said nothing).
  const { added, adopted } = sink.kind === 'postgres' ? sink.sink : { added: [], adopted: [] };
  // verify compares a PostgreSQL source with its target as they are, without a mapping between them.
  const fill = it.source.kind === 'postgres' && !it.mapping ? `\`tidemark verify ${it.id} --repair\` (or a backfill) fills them` : `a backfill (\`tidemark backfill ${it.id}\`) fills them`;
  const named = (cols: readonly { name: string; type: string }[]) => cols.map((c) => `"${c.name}" (${c.type})`).join(', ');
  const columnWarnings = [
    ...(added.length ? [`sink.schemaChanges add_columns: added ${named(added)} to the target; rows written before hold NULL there until they change: ${fill}`] : []),
    ...(adopted.length ? [`new in the source since the last run: ${named(adopted)}, which the target already had (added by hand, or kept from before); rows written before hold what the target has there (NULL, its default or older values) until they change: ${fill}`] : []),
  ];
  // Recorded at once: an attempt that fails after altering the table (its first read) leaves the next one nothing to add.
  if (columnWarnings.length) {
    for (const w of columnWarnings) log.warn(w, { integration: it.id });
    await state.addRunWarnings(db, input.runKey, columnWarnings).catch(async (err: unknown) => {
      await reading.catch(() => undefined); // what it started, the caller closes
      throw err;
    });
  }
  await reading;
  const total = await estimate;
  const meter = new ProgressMeter({ integration: it.id, slot: start.slot, attempt: ctx.info.attempt }, total, start.slotRowsBefore);
  // Why mostly changed pages are upserted rather than replaced (replace-rows.ts), when they are.
  const upsertOnly = sink.kind === 'postgres' ? sink.sink.replaceBlocker : undefined;
  log.info('run starting', { integration: it.id, mode: input.mode, read: start.plan.describe, after: start.cursor, remaining: total, ...(upsertOnly ? { changedPagesUpserted: upsertOnly } : {}) });
  const keyWarning = pipeline ? undefined : sinkKeyNotUnique(it, start.plan.uniqueKeys, start.plan.partitionKey);
  const looseKey = pipeline ? undefined : sinkKeyLoose(it, start.plan.nondeterministic);
  const warnings = [...(start.plan.warnings ?? []), ...start.warnings, ...(keyWarning ? [keyWarning] : []), ...(looseKey ? [looseKey] : [])];
  for (const w of warnings) log.warn(w, { integration: it.id });
  await state.addRunWarnings(db, input.runKey, warnings);
  ctx.heartbeat(meter.snapshot(start.cursor));
  const rowsOfThisRun = () => meter.rows - start.slotRowsBefore + start.runRowsBefore;
  return { source, start, ...(pipeline ? { pipeline } : {}), sink, targetColumns, meter, rowsOfThisRun };
}

/**
 * A sink key that no unique index of the source covers: source rows sharing a key overwrite each other in the
 * target (the last in cursor order wins). That may be meant (the latest row per email), so it is a warning on
 * the run, not a refusal (found by an acceptance run: 50 rows became 10 without a word).
 */
export function sinkKeyNotUnique(it: Integration, sourceUniqueKeys: string[][] | undefined, partitionKey?: string[]): string | undefined {
  if (!sourceUniqueKeys || !isPostgresSink(it.sink)) return undefined;
  const key = it.sink.key;
  if (sourceUniqueKeys.some((k) => k.every((c) => key.includes(c)))) return undefined;
  // A partitioned table's unique indexes must include its partition key: an id from one sequence is unique across
  // partitions all the same, which no index can show (a review: the warning read as a certain loss there).
  const part = partitionKey ?? [];
  if (part.length && sourceUniqueKeys.some((k) => k.every((c) => key.includes(c) || part.includes(c)))) {
    return `sink.key (${key.join(', ')}) is unique in the source only together with its partition key (${part.join(', ')}), as PostgreSQL requires of a partitioned table's unique indexes: if a key repeats across partitions, those rows overwrite each other in the target (the last in cursor order wins); keys drawn from one sequence or identity never do`;
  }
  return `sink.key (${key.join(', ')}) is not unique in the source: source rows sharing a key overwrite each other in the target (the last in cursor order wins); make the key a unique column of the source if every row is to be kept`;
}

/**
 * A sink key column whose source collation is nondeterministic: 'AX' renamed 'ax' is the same row in the source and a
 * new one in a target that compares bytes, so the old row stays, and verify --delete (which asks the source) cannot
 * find it absent (an acceptance run: 3 source rows, 4 target rows, no word).
 */
export function sinkKeyLoose(it: Integration, nondeterministic: string[] | undefined): string | undefined {
  if (!nondeterministic?.length || !isPostgresSink(it.sink)) return undefined;
  const loose = it.sink.key.filter((k) => nondeterministic.includes(k));
  if (!loose.length) return undefined;
  return `sink.key column(s) ${loose.join(', ')} have a nondeterministic collation in the source (values that differ, such as 'AX' and 'ax', are one key there): unless the target column has the same collation, a key changed only that way becomes a second row in the target, which verify --delete cannot remove; give the target column(s) the source's collation, or key on a column compared by bytes`;
}

/** The PostgreSQL sink (its COPY path), or any sink through the Sink contract, prepared for `columns`. */
async function prepareSink(deps: ActivityDeps, it: Integration, sinkUrl: string, alive: KeepAlive, res: RunResources, columns: readonly ColumnSpec[], sourceUniqueKeys: string[][] | undefined, continuesFrom: string | undefined): Promise<RunSink> {
  const sinkConfig = it.sink;
  if (isPostgresSink(sinkConfig)) {
    const sink = (res.pgSink = new PostgresSink(res.stateDb as pg.Client, sinkConfig, it.id));
    // Without a mapping, target rows are source rows: a sink key that is unique in the source cannot repeat in a page.
    const keyUniqueInPage = !!sourceUniqueKeys?.some((k) => k.every((c) => sinkConfig.key.includes(c)));
    await alive.during(() => sink.prepare(columns, { keyUniqueInPage, ...(continuesFrom !== undefined ? { continuesFrom } : {}) }));
    return { kind: 'postgres', sink };
  }
  const contract = (res.sink = await createSink(sinkConfig, it.id, deps.env ?? process.env, sinkUrl));
  await alive.during(() => contract.prepare(columns));
  return { kind: 'contract', sink: contract };
}

/**
 * While the source waits for its open writers (writersWait, up to a minute), the heartbeat says so, so `status`
 * shows what the run waits for instead of nothing; the plain details come back when the wait is over.
 */
async function withWritersWaitShown<T>(ctx: Context, alive: KeepAlive, fn: (shown: (w: WritersWait) => void) => Promise<T>): Promise<T> {
  const plain = alive.details;
  try {
    return await fn((w) => {
      const waitingForWriters = { ...w, since: new Date().toISOString() };
      alive.details = () => ({ ...(plain() as object | undefined), waitingForWriters });
      ctx.heartbeat(alive.details());
    });
  } finally {
    if (alive.details !== plain) {
      alive.details = plain;
      ctx.heartbeat(plain());
    }
  }
}
