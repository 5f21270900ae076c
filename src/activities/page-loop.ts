import { log, type Context } from '@temporalio/activity';
import type pg from 'pg';
import type { Cursor } from '../cursor/cursor';
import * as state from '../db/state';
import type { PostgresSink } from '../sinks/postgres-sink';
import { prefetch } from '../sources/combinators/prefetch';
import type { EncodedPage } from '../sources/source';
import { deadLetterOf, writeIsolatingBadRows } from './isolate-bad-rows';
import type { KeepAlive } from './keep-alive';
import type { ProgressMeter } from './progress';
import type { Tuner } from './tuner';
import type { ActivityDeps } from './run-integration';
import type { RunInput, RunResult } from './types';

export interface PageLoop {
  ctx: Context;
  deps: Pick<ActivityDeps, 'afterBatch'>;
  input: RunInput;
  integration: string;
  /** The state database: the sink's connection too, so a page and its checkpoint commit together. */
  db: pg.Client;
  sink: PostgresSink;
  /** The checkpoint slot this run advances. */
  slot: string;
  targetColumns: string[];
  alive: KeepAlive;
  meter: ProgressMeter;
  tuner: Tuner;
  /** Heartbeats the current progress. */
  beat: () => void;
  /** Where the run stands: the cursor after the last committed page (read by the heartbeat details). */
  position: { cursor: Cursor };
  /** Called at a batch boundary once the run is cancelled: records why and throws. */
  stopForCancellation: () => Promise<never>;
  /** Date.now() after which the run stops at the next batch boundary (maxRunDuration). */
  deadline?: number;
}

/**
 * The page loop: read the next page (prefetched), write it with bad-row isolation, and save the
 * checkpoint and the run's counters in the same transaction; meter, tune, heartbeat and call the
 * afterBatch hook after each; stop at a batch boundary when cancelled or out of time budget.
 * Returns the final cursor, and why it stopped early (undefined: the source is exhausted).
 */
export async function runPageLoop(loop: PageLoop, pages: AsyncIterable<EncodedPage>): Promise<{ cursor: Cursor; stoppedBy?: RunResult['stoppedBy'] }> {
  const { ctx, input } = loop;
  const iter = prefetch(pages)[Symbol.asyncIterator]();
  try {
    for (;;) {
      // Heartbeats keep going while the page is read and written (see KeepAlive), not during afterBatch.
      const next = await loop.alive.during(() => iter.next());
      if (next.done) return { cursor: loop.position.cursor };
      const page = next.value;
      await loop.alive.during(() => writePage(loop, page));
      loop.beat();
      const { meter } = loop;
      await loop.deps.afterBatch?.({ integration: loop.integration, attempt: ctx.info.attempt, pages: meter.pages, rows: meter.rows, signal: ctx.cancellationSignal, shard: input.shard });
      if (ctx.cancellationSignal.aborted) await loop.stopForCancellation();
      if (loop.deadline !== undefined && Date.now() >= loop.deadline) return { cursor: loop.position.cursor, stoppedBy: 'time-budget' };
    }
  } finally {
    await iter.return(undefined);
  }
}

/** One page and its checkpoint in one transaction; rows the target refuses go to dead letters with it. */
async function writePage(loop: PageLoop, page: EncodedPage): Promise<void> {
  const { db, integration: id, input, position } = loop;
  await state.countRowsRead(db, input.runKey, page.count);
  const rejected = page.rejected ?? [];
  const where = `integration ${id}, page after cursor ${JSON.stringify(position.cursor)}`;
  // Rows the target refuses (a constraint) go to dead letters with the rest of the page; see isolate-bad-rows.
  const { bad } = await writeIsolatingBadRows(loop.sink, page.data, page.count - rejected.length, async (tx, res, refused) => {
    await state.insertDeadLetters(tx, id, input.runKey, page.cursor, [...rejected, ...refused.map((r) => deadLetterOf(r, loop.targetColumns))]);
    await state.saveCheckpoint(tx, id, loop.slot, input.runKey, page.cursor, page.count);
    await state.recordBatch(tx, input.runKey, page.count, res.written, page.cursor, rejected.length + refused.length);
  }, where);
  if (bad.length) log.warn(`${bad.length} row(s) refused by the target went to dead letters`, { integration: id, first: bad[0]?.error.message });
  position.cursor = page.cursor;
  loop.meter.add(page.count);
  await loop.tuner.poll();
}
