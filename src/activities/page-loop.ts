import { log, type Context } from '@temporalio/activity';
import type pg from 'pg';
import type { Cursor } from '../cursor/cursor';
import * as state from '../db/state';
import type { PostgresSink } from '../sinks/postgres-sink';
import type { Sink } from '../sinks/sink';
import { prefetch } from '../sources/combinators/prefetch';
import { sleep } from '../util/sleep';
import { canonicalJson } from '../sinks/http/delivery-keys';
import type { EncodedPage } from '../sources/source';
import { deadLetterOf, writeIsolatingBadRows } from './isolate-bad-rows';
import type { KeepAlive } from './keep-alive';
import type { ProgressMeter } from './progress';
import { ReadTally } from './read-tally';
import type { Tuner } from './tuner';
import type { ActivityDeps } from './run-integration';
import type { RunSink } from './run-setup';
import { commitsLazily, pageRecordOf, sendAhead, type AheadPage } from './send-ahead';
import { writeSinkPage } from './sink-page';
import { ignoringShutdown } from '../util/abort-error';
import type { RunInput, RunResult } from './types';

/** A running shard moves its counters into the run's row about this often (never inside a page's transaction). */
const SHARD_ROLL_UP_MS = 1_000;
export { DURABLE_EVERY_MS } from './send-ahead';

/**
 * Where a run stands. `cursor`: after the last committed page. `durable`: after the last page whose commit
 * waited for the WAL flush, the one heartbeats carry (a retry starts from the later of it and the checkpoint).
 */
export interface LoopPosition {
  cursor: Cursor;
  durable: Cursor;
  /** Date.now() of the last flushed commit */
  durableAt: number;
}

/** Everything up to `cursor` is on disk: heartbeats may name it. */
export function markDurable(position: LoopPosition, cursor: Cursor): void {
  Object.assign(position, { durable: cursor, durableAt: Date.now() });
}

export interface PageLoop {
  ctx: Context;
  deps: Pick<ActivityDeps, 'afterBatch'>;
  input: RunInput;
  integration: string;
  /** The state database: the sink's connection too, so a page and its checkpoint commit together. */
  db: pg.Client;
  sink: RunSink;
  /** The checkpoint slot this run advances. */
  slot: string;
  /** A shard's range end, as its pages are read (another shard may take part of the range: see steal-work). */
  until?: Cursor;
  /** A shard's page cursors as its source's sort key, when another shard may cut its range (see PageRecord.cursorKey). */
  keyOf?: (cursor: Cursor) => string | undefined;
  targetColumns: string[];
  alive: KeepAlive;
  meter: ProgressMeter;
  tuner: Tuner;
  /** Heartbeats the current progress. */
  beat: () => void;
  /** Where the run stands (the heartbeat details read its durable cursor). */
  position: LoopPosition;
  /** Called at a batch boundary once the run is cancelled: records why and throws. */
  stopForCancellation: () => Promise<never>;
  /** Date.now() after which the run stops at the next batch boundary (maxRunDuration). */
  deadline?: number;
}

/**
 * The page loop: read the next page (prefetched: page k+1 is read while page k is written, whichever
 * way the sink writes), write it with bad-row isolation, and save the checkpoint and the run's counters
 * in the same transaction (one commit per page); meter, tune, heartbeat and call the afterBatch hook after
 * each; stop at a batch boundary when cancelled or out of time budget.
 * Returns the final cursor, and why it stopped early (undefined: the source is exhausted).
 */
export async function runPageLoop(loop: PageLoop, pages: AsyncIterable<EncodedPage>): Promise<{ cursor: Cursor; stoppedBy?: RunResult['stoppedBy'] }> {
  const { ctx, input } = loop;
  const tally = new ReadTally();
  const source = { ended: false };
  const iter = prefetch(tally.counting(pages), source)[Symbol.asyncIterator]();
  let rolledUp = Date.now();
  /** The next page, already sent (see send-ahead.ts), or already read. */
  let ahead: AheadPage | undefined;
  let peeked: Promise<IteratorResult<EncodedPage>> | undefined;
  /** The page taken from the reader and not written yet came back as the end (see the time budget below). */
  let peekedEnd = false;
  const peek = (p: Promise<IteratorResult<EncodedPage>>) => {
    peeked = p;
    peekedEnd = false;
    p.then((r) => void (peeked === p && r.done && (peekedEnd = true)), () => undefined);
  };
  const nextPage = () => {
    const next = peeked ?? loop.alive.during(() => iter.next());
    peeked = undefined;
    return next;
  };
  // A stop between pages: the page sent ahead lands first (committed, it counts; else it is simply not written).
  // Heartbeating meanwhile: the page ahead may wait on another session's row lock for a while.
  // True when no page was lost on the way: none was ahead, or it committed.
  const landAhead = async (): Promise<boolean> => {
    const a = ahead;
    ahead = undefined;
    if (!a) return true;
    if (!(await loop.alive.during(() => a.committed))) return false;
    landed(loop, a);
    return true;
  };
  try {
    for (;;) {
      // Heartbeats keep going while the page is read and written (see KeepAlive), not during afterBatch.
      let page: EncodedPage;
      let writing: Promise<void>;
      if (ahead) {
        const a = ahead;
        ahead = undefined;
        page = a.page;
        writing = finishAhead(loop, loop.sink.sink as PostgresSink, a, tally);
      } else {
        const next = await tunedWhile(loop, nextPage());
        if (next.done) return { cursor: loop.position.cursor };
        page = next.value;
        writing = loop.sink.kind === 'postgres' ? writePage(loop, loop.sink.sink, page, tally) : writeContractPage(loop, loop.sink.sink, page, tally);
      }
      // While this page commits, the next one, if it is already read, goes ahead on the sink's other connection
      // (a direct load, or replaced pages: see PostgresSink.sendsAhead).
      // Not with an afterBatch hook (fault injection): the hook sees the state after its page and nothing beyond.
      // Not in a shard: it is already one of several writers (measured: no faster, twice the connections).
      if (loop.sink.kind === 'postgres' && loop.sink.sink.sendsAhead && !loop.deps.afterBatch && input.shard === undefined) {
        const next = nextPage();
        const first = await loop.alive.during(() => Promise.race([next.then(() => 'read'), writing.then(() => 'written', () => 'written')]));
        if (first === 'read') {
          const r = await next;
          // The page sent ahead is fenced on this page's cursor; when that equals the checkpoint before it (a page
          // whose cursor did not advance), this page's rollback would leave the fence standing: no page goes ahead.
          if (!r.done && !sameCursor(page.cursor, loop.position.cursor)) ahead = sendAhead(loop, loop.sink.sink, r.value, page.cursor, tally);
          if (!ahead) peek(next);
        } else peek(next);
      }
      await loop.alive.during(() => writing);
      loop.beat();
      if (input.shard !== undefined && Date.now() - rolledUp >= SHARD_ROLL_UP_MS) {
        // Opportunistic: a lock conflict (another shard finishing the run) only delays it to the next try or the shard's end.
        await state.rollUpShardCounters(loop.db, input.runKey, input.shard, { whenFree: true }).catch((err: unknown) => log.debug('shard counters not rolled up yet', { error: String(err) }));
        rolledUp = Date.now();
      }
      const { meter } = loop;
      await loop.deps.afterBatch?.({ integration: loop.integration, attempt: ctx.info.attempt, pages: meter.pages, rows: meter.rows, signal: ctx.cancellationSignal, shard: input.shard });
      if (ctx.cancellationSignal.aborted) {
        await landAhead();
        await loop.stopForCancellation();
      }
      if (loop.deadline !== undefined && Date.now() >= loop.deadline) {
        const whole = await landAhead();
        // The source said already that nothing follows (its last answer said so; the read ahead came back empty), and
        // every page it gave is committed: the run read everything, and is not "stopped early" with a backlog the next
        // run must catch up (an acceptance run: status said "catching up" after an API's has_more: false). Known
        // without asking for another page (the review: pulling one started the read of the page after it).
        if (whole && (peeked ? peekedEnd : source.ended)) return { cursor: loop.position.cursor };
        return { cursor: loop.position.cursor, stoppedBy: 'time-budget' };
      }
    }
  } finally {
    // Failing: a page sent ahead either commits (its checkpoint with it: the retry starts after it) or not.
    const last = ahead;
    if (last) await loop.alive.during(() => last.committed);
    await peeked?.catch(() => undefined);
    await iter.return(undefined);
    await settleCounters(loop, tally);
  }
}

/**
 * Waits for the next page with nothing being written, reading the run's tuning meanwhile (once a second, never two
 * reads at once): a page a throttle holds back at a rate set too low is released by a retune (throttle.ts), rather
 * than only the page after it. Not while a page is written: the tuning is read on the session that writes it.
 */
async function tunedWhile<T>(loop: PageLoop, waiting: Promise<T>): Promise<T> {
  let settled = false;
  const done = waiting.finally(() => (settled = true));
  const polling = (async () => {
    while (!settled) {
      await Promise.race([done.catch(() => undefined), sleep(1_000)]);
      if (!settled) await loop.tuner.poll().catch(() => undefined);
    }
  })();
  try {
    return await done;
  } finally {
    await polling;
  }
}

/** Whether two cursors (plain JSON values) are equal as jsonb compares them: object keys in any order. */
export function sameCursor(a: Cursor, b: Cursor): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** A page sent ahead committed: the loop stands after it. */
function landed(loop: PageLoop, a: AheadPage): void {
  loop.position.cursor = a.page.cursor;
  if (!a.lazyCommit) markDurable(loop.position, a.page.cursor);
  loop.meter.add(a.page.count);
}

/** Waits for a page sent ahead; one that did not commit is written again the usual way (its failure, if any, reported as always). */
async function finishAhead(loop: PageLoop, sink: PostgresSink, a: AheadPage, tally: ReadTally): Promise<void> {
  if (!(await a.committed)) return writePage(loop, sink, a.page, tally, true);
  landed(loop, a);
  await loop.tuner.poll();
}

/**
 * One page, its checkpoint and the run's counters in one transaction; rows the target refuses go to dead
 * letters with it. Most pages commit without waiting for the WAL flush (synchronous_commit off for that
 * transaction: the wait was a tenth of a durable backfill's time, issue 16); at least one a second, and
 * the run's end (finishRun's statements), wait for it as usual. Nothing can be lost or doubled by that: a
 * page and its checkpoint are one transaction and the WAL replays in order, so a PostgreSQL crash loses the
 * last pages *with* their checkpoints, and the retry reads them again from the checkpoint that survived.
 * What leaves the database before a flush must not name them: heartbeats carry the last flushed cursor
 * (position.durable), and the run flushes before its result leaves (see runLocked).
 */
async function writePage(loop: PageLoop, sink: PostgresSink, page: EncodedPage, tally: ReadTally, begun = false): Promise<void> {
  const { integration: id, input, position } = loop;
  const lazyCommit = commitsLazily(position);
  if (!begun) tally.written(page.count);
  const rejected = page.rejected ?? [];
  const where = `integration ${id}, page after cursor ${JSON.stringify(position.cursor)}`;
  let read = 0;
  const record = (written: number, refused: number): state.PageRecord => {
    // Each try of the page's transaction counts the rows read since the last (a failed try's count goes back).
    tally.released(read);
    read = tally.claim();
    return pageRecordOf(loop, page, { rows: page.count, written, rejected: rejected.length + refused, read }, lazyCommit);
  };
  // A page with nothing else to record goes as one script (rows, checkpoint, counters, COMMIT: one round trip).
  const plain = rejected.length === 0 && !page.warnings?.length;
  const script = plain ? { sql: (res: { written: number }) => state.recordPageScript(record(res.written, 0)) } : undefined;
  // Rows the target refuses (a constraint) go to dead letters with the rest of the page; see isolate-bad-rows.
  const { bad } = await writeIsolatingBadRows(
    sink,
    page.data,
    page.count - rejected.length,
    async (tx, res, refused) => {
      await state.insertDeadLetters(tx, id, input.runKey, page.cursor, [...rejected, ...refused.map((r) => deadLetterOf(r, loop.targetColumns, page.rowLines?.[r.index]))]);
      await state.recordPage(tx, record(res.written, refused.length));
      // What the source reported with the page (a child stream's parent gone): with the page, in its transaction.
      if (page.warnings?.length) await state.addRunWarnings(tx, input.runKey, page.warnings);
    },
    where,
    undefined,
    script,
  ).catch((err: unknown) => {
    tally.released(read);
    throw state.ownershipLost(err, { integration: id, slot: loop.slot, runId: input.runKey }) ?? err;
  });
  tally.committed(read, true);
  if (bad.length) log.warn(`${bad.length} row(s) refused by the target went to dead letters`, { integration: id, first: bad[0]?.error.message });
  position.cursor = page.cursor;
  if (!lazyCommit) markDurable(position, page.cursor);
  loop.meter.add(page.count);
  await loop.tuner.poll();
}

/** One page through the Sink contract (http, custom): the sink writes in the page's transaction, see sink-page. */
async function writeContractPage(loop: PageLoop, sink: Sink, page: EncodedPage, tally: ReadTally): Promise<void> {
  const { ctx, input, integration, db, slot, beat, until } = loop;
  // A worker shutting down lets the page finish and commit (the loop stops after it); a cancel aborts it.
  await writeSinkPage({ input, integration, db, slot, signal: ignoringShutdown(ctx.cancellationSignal), beat, ...(until !== undefined ? { until } : {}) }, sink, page, tally);
  // Its commit waits for the flush (an API's deliveries are recorded in it): durable at once.
  loop.position.cursor = page.cursor;
  markDurable(loop.position, page.cursor);
  loop.meter.add(page.count);
  await loop.tuner.poll();
}

/**
 * When the loop stops (done, budget, cancel, a failure; not a killed worker), rows_read is made to count
 * exactly the pages it began writing, as before the count moved into the page's transaction; a shard then
 * rolls its counters up. Best effort: a broken connection must not hide the error that stopped the loop.
 */
async function settleCounters(loop: PageLoop, tally: ReadTally): Promise<void> {
  const { db, input } = loop;
  const fix = tally.correction();
  if (fix !== 0) await state.addRowsRead(db, input.runKey, fix, input.shard).catch(() => undefined);
  if (input.shard !== undefined) await state.rollUpShardCounters(db, input.runKey, input.shard).catch(() => undefined);
}
