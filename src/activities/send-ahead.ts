import { log } from '@temporalio/activity';
import type { Cursor } from '../cursor/cursor';
import * as state from '../db/state';
import type { PostgresSink } from '../sinks/postgres-sink';
import type { EncodedPage } from '../sources/source';
import type { LoopPosition } from './page-loop';
import type { ReadTally } from './read-tally';
import type { RunInput } from './types';
import { shardOf } from './sink-page';

/** A page's commit waits for the WAL flush at least this often; see page-loop's writePage. */
export const DURABLE_EVERY_MS = 1_000;

/** A page sent before the page in front of it had committed (PostgresSink.sendAhead). */
export interface AheadPage {
  page: EncodedPage;
  /** Its commit did not wait for the WAL flush. */
  lazyCommit: boolean;
  /** true: committed with its checkpoint; false: it did not, and goes again the usual way. */
  committed: Promise<boolean>;
}

export interface AheadContext {
  integration: string;
  input: RunInput;
  slot: string;
  until?: Cursor;
  /** A shard's page cursors as the source's sort key (see PageRecord.cursorKey). */
  keyOf?: (cursor: Cursor) => string | undefined;
  position: LoopPosition;
}

/** Whether a page written now commits without waiting for the WAL flush (see page-loop's writePage). */
export function commitsLazily(position: LoopPosition): boolean {
  return Date.now() - position.durableAt < DURABLE_EVERY_MS;
}

/** What a page's transaction records: its checkpoint (a shard's fenced on its range end) and the run's counters. */
export function pageRecordOf(c: AheadContext, page: EncodedPage, counts: Pick<state.PageRecord, 'rows' | 'written' | 'rejected' | 'read'>, lazyCommit: boolean): state.PageRecord {
  return { integration: c.integration, slot: c.slot, runId: c.input.runKey, ...shardOf(c.input, c.until, c.keyOf?.(page.cursor)), cursor: page.cursor, ...counts, lazyCommit };
}

/**
 * Sends `page` on the sink's other connection while the page before it (cursor `after`) is still being
 * written: its checkpoint is fenced on `after` (PageRecord.after), so it waits for that page's commit and
 * rolls back if that page did not commit. Only plain pages (nothing rejected, no warnings) of a direct load;
 * undefined when the page cannot go ahead. The tally counts the page as begun and its read rows as claimed.
 */
export function sendAhead(c: AheadContext, sink: PostgresSink, page: EncodedPage, after: Cursor, tally: ReadTally): AheadPage | undefined {
  if (page.rejected?.length || page.warnings?.length || after === null) return undefined;
  const lazyCommit = commitsLazily(c.position);
  let read = 0;
  const sql = (res: { written: number }) => {
    read = tally.claim();
    return state.recordPageScript({ ...pageRecordOf(c, page, { rows: page.count, written: res.written, rejected: 0, read }, lazyCommit), after });
  };
  const sent = sink.sendAhead(page.data, page.count, { sql });
  if (!sent) return undefined;
  tally.written(page.count);
  const committed = sent.then(
    () => (tally.committed(read, true), true),
    (err: unknown) => {
      tally.released(read);
      log.debug('a page sent ahead did not commit: it goes again', { integration: c.integration, error: String(err) });
      return false;
    },
  );
  return { page, lazyCommit, committed };
}
