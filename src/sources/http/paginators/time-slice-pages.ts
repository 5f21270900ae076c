import type { HttpPagination } from '../../../config/http-source-schema';
import type { Cursor } from '../../../cursor/cursor';
import type { ReadOptions } from '../../source';
import type { TimeSliceCursor } from '../cursors';
import { formatTime, stepAfter, truncateTime } from '../time-format';
import { compareTimes } from '../time-key';
import type { PageContext, RecordPage } from './page-context';

type Style = Extract<HttpPagination, { style: 'time_slices' }>;

/** Pages of one slice by the inner style, after its cursor (null: the slice's start). */
export type InnerPages = (ctx: PageContext, after: Cursor, sliceEnd: string) => AsyncIterable<RecordPage>;

/**
 * Newest-first lists (Stripe's `created[gte]`/`created[lt]` + `starting_after`): a run reads slices
 * `[from, to)` of a creation time the API filters by, `to` = now - lag cut to the format (or `from +
 * maxWindow`). Each slice is read to its end by the inner pagination, in whatever order the API sorts
 * (newest first included), and only then does the cursor move to `{from: to}`: inside a slice the
 * cursor is `{from, to, inner}`, so a resumed run finishes the same slice from the inner position. The
 * next run starts at `to`: consecutive slices tile time with no gap and no overlap. The end of a slice
 * is known only when the inner pagination ends, so a page is handed over once the next one is read
 * (one page ahead). The time must not change once written (a creation time): an update to a record
 * in a slice already read is not seen (use an events list for those).
 */
export async function* timeSlicePages(ctx: PageContext, p: Style, after: TimeSliceCursor | null, runBound: string, opts: ReadOptions, innerPages: InnerPages): AsyncGenerator<RecordPage> {
  const highWater = truncateTime(runBound, p.format);
  const sent = (t: string) => formatTime(t, p.format);
  let from = after?.from ?? truncateTime(p.start, p.format);
  let resume: { to: string; inner: Cursor } | undefined = after && 'to' in after ? { to: after.to, inner: (after.inner ?? null) as Cursor } : undefined;
  while (compareTimes(from, resume?.to ?? highWater) < 0) {
    const step = p.maxWindow ? stepAfter(from, p.maxWindow, p.format) : highWater;
    const to = resume?.to ?? (compareTimes(step, highWater) < 0 ? step : highWater);
    const slice: PageContext = {
      ...ctx,
      // The slice's bounds go with every request but a next link (which carries them already).
      get: (params, o, at, vars) => ctx.get(at ? params : { ...params, [p.fromParam]: sent(from), [p.toParam]: sent(to) }, o, at, { ...vars, from: sent(from), to: sent(to) }),
    };
    let pending: RecordPage | undefined;
    for await (const page of innerPages(slice, resume?.inner ?? null, to)) {
      if (pending) yield pending;
      pending = { ...page, cursor: { from, to, inner: page.cursor } };
    }
    // The inner pagination ended: the slice is complete, its end is the durable cursor.
    yield { records: pending?.records ?? [], cursor: { from: to } };
    from = to;
    resume = undefined;
  }
}
