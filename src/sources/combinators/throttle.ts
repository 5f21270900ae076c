import type { Cursor } from '../../cursor/cursor';
import { sleep } from '../../util/sleep';
import type { CopyPage, Page, PrepareOptions, ReadOptions, Source, SourcePlan } from '../source';

/** A wait looks at the (mutable) limit this often: a retune applies to the page waiting, not only to the next. */
const RETUNE_TICK_MS = 1_000;

/** A mutable limit, so a running backfill can be retuned without a restart. */
export interface RateLimit {
  rowsPerSecond: number | undefined;
}

/**
 * Wraps a source so it yields at most `limit.rowsPerSecond` rows per second on average, sleeping
 * between pages (in ticks that call onIdle, so the activity keeps heartbeating while it waits).
 */
export function throttle(inner: Source, limit: RateLimit): Source {
  return {
    kind: inner.kind,
    prepare: (opts: PrepareOptions): Promise<SourcePlan> => inner.prepare(opts),
    parseCursor: (v: unknown) => inner.parseCursor(v),
    later: (a: Cursor, b: Cursor) => inner.later(a, b),
    estimateRemaining: inner.estimateRemaining?.bind(inner),
    split: inner.split?.bind(inner),
    ...(inner.rangeScale ? { rangeScale: inner.rangeScale } : {}),
    ...(inner.notes ? { notes: inner.notes.bind(inner) } : {}),
    close: () => inner.close(),
    pages: (after: Cursor, opts: ReadOptions) => paced<Page>(inner.pages(after, opts), (p) => p.rows.length, limit, opts),
    ...(inner.copyPages
      ? { copyPages: (after: Cursor, opts: ReadOptions) => paced<CopyPage>(inner.copyPages!(after, opts), (p) => p.count, limit, opts) }
      : {}),
  };
}

async function* paced<T>(pages: AsyncIterable<T>, count: (page: T) => number, limit: RateLimit, opts: ReadOptions): AsyncGenerator<T> {
  let windowStart = Date.now();
  let rows = 0;
  let rate = limit.rowsPerSecond;
  for await (const page of pages) {
    if (limit.rowsPerSecond !== rate) {
      rate = limit.rowsPerSecond; // retuned: measure from here
      windowStart = Date.now();
      rows = 0;
    }
    rows += count(page);
    let due = rate ? windowStart + (rows / rate) * 1000 : 0;
    // On abort, stop waiting and hand the page over: the caller decides at the batch boundary.
    while (rate && Date.now() < due && !opts.signal?.aborted) {
      await sleep(Math.min(due - Date.now(), RETUNE_TICK_MS), opts.signal);
      opts.onIdle?.();
      if (limit.rowsPerSecond !== rate) {
        // Retuned while this page waits (a rate set too low, undone): this page is paced at the new rate from now.
        rate = limit.rowsPerSecond;
        [windowStart, rows] = [Date.now(), count(page)];
        due = rate ? windowStart + (rows / rate) * 1000 : 0;
      }
    }
    yield page;
  }
}
