import { log } from '@temporalio/activity';
import type pg from 'pg';
import * as state from '../db/state';
import type { Sink, SinkWriteResult } from '../sinks/sink';
import type { Cursor } from '../cursor/cursor';
import type { EncodedPage } from '../sources/source';
import { decodeCopyRows } from './decode-copy-rows';
import type { ReadTally } from './read-tally';
import type { RunInput } from './types';

export interface SinkPageLoop {
  input: RunInput;
  integration: string;
  db: pg.Client;
  slot: string;
  /** A shard's range end its pages were read with (the checkpoint is fenced on it, see PageRecord.until). */
  until?: Cursor;
  signal: AbortSignal;
  beat: () => void;
}

/**
 * One page through the Sink contract (http and custom sinks): the page's transaction is opened on the
 * state database, the sink writes (delivers) the page in it, then the pipeline's rejects, the checkpoint
 * and the run's counters join it, and it commits. A sink that throws leaves the checkpoint where it was:
 * the page is read and written again by the next attempt (an HTTP sink re-sends only what its ledger lacks,
 * with the same idempotency keys).
 */
export async function writeSinkPage(loop: SinkPageLoop, sink: Sink, page: EncodedPage, tally: ReadTally): Promise<SinkWriteResult> {
  const { db, input, integration } = loop;
  tally.written(page.count);
  const rejected = page.rejected ?? [];
  const rows = decodeCopyRows(page.data);
  await db.query('BEGIN');
  let result: SinkWriteResult;
  try {
    // Letters the sink refuses are kept, with the pipeline's rejects, in one insert after its write: their locks
    // (see insertLetters) are then taken in one sorted statement, never between the sink's own writes (the review).
    const refused: state.DeadLetterInput[] = [];
    const refuse = (letters: ReadonlyArray<{ record: Record<string, unknown>; reason: string }>) => {
      refused.push(...letters.map((l) => ({ ...l, stage: 'write' as const })));
      return Promise.resolve();
    };
    result = await sink.write(db, { rows, cursor: page.cursor }, { integration, runId: input.runKey, signal: loop.signal, onIdle: loop.beat, refuse });
    await state.insertDeadLetters(db, integration, input.runKey, page.cursor, [...rejected, ...refused]);
    const read = tally.unreported();
    const counts = { rows: page.count, written: result.written, rejected: rejected.length + result.refused, read };
    await state.recordPage(db, { integration, slot: loop.slot, runId: input.runKey, ...shardOf(input, loop.until), cursor: page.cursor, ...counts });
    if (page.warnings?.length) await state.addRunWarnings(db, input.runKey, page.warnings);
    await db.query('COMMIT');
    tally.committed(read);
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  if (result.refused) log.warn(`${result.refused} record(s) refused by sink ${sink.kind} went to dead letters`, { integration });
  return result;
}

/** A shard's part of a page's record: its counters' row, the range end the page was read with and its cursor's key. */
export function shardOf(input: RunInput, until: Cursor | undefined, cursorKey?: string): { shard?: number; until?: Cursor; cursorKey?: string } {
  if (input.shard === undefined) return {};
  if (until === undefined) return { shard: input.shard };
  return cursorKey === undefined ? { shard: input.shard, until } : { shard: input.shard, until, cursorKey };
}
