import type { HttpPagination } from '../../../config/http-source-schema';
import type { Page, ReadOptions } from '../../source';
import type { TimeWindowCursor } from '../cursors';
import { HttpSourceError } from '../http-errors';
import { getPath } from '../json-path';
import { addMs, compareTimes, isTimestamp } from '../time-key';
import { hasMore, type PageContext } from './page-context';

type Style = Extract<HttpPagination, { style: 'time_window' }>;

/**
 * Time windows on a timestamp field. A run reads `[from, to)`: `from` = the cursor (closed: records
 * at exactly `from` are read), `to` = now - lag taken when the run starts (open: records at `to` wait
 * for the next run, whose `from` is this `to`). Consecutive runs tile time with no gap and no overlap.
 *
 * Inside a run, each request asks for `[from, to)` in ascending field order. A complete answer (no
 * more pages) covers the window. A full page is cut before its last timestamp T: every record before
 * T is in this one response, so `[from, T)` is done and the next request starts at T. Records sharing
 * T are requested again, never skipped; when one timestamp holds the whole page, the page grows (up
 * to maxPageSize) until the group fits in a single response. One response is one consistent answer,
 * so records changing meanwhile (they move past `to`) cannot shift anything out of a page.
 */
export async function* timeWindowPages(ctx: PageContext, p: Style, after: TimeWindowCursor | null, highWater: string, opts: ReadOptions): AsyncGenerator<Page> {
  let from = after?.from ?? p.start;
  if (compareTimes(from, highWater) >= 0) return; // nothing new yet (and never move backwards)
  let size = ctx.pageSize(opts);
  for (;;) {
    const to = p.maxWindow && compareTimes(addMs(from, p.maxWindow), highWater) < 0 ? addMs(from, p.maxWindow) : highWater;
    const { body, records, url } = await ctx.get({ [p.fromParam]: from, [p.toParam]: to, [p.limitParam]: String(size) }, opts);
    const times = records.map((r, i) => timeOf(r, i, p.field, url));
    checkWindow(times, from, to, p, url);
    if (!hasMore(getPath(body, p.hasMore), records.length, size)) {
      // Empty windows before the last one need no page of their own: the next page's cursor covers them.
      if (records.length || to === highWater) yield { rows: ctx.toRows(records), cursor: { from: to } };
      else opts.onIdle?.();
      if (to === highWater) return;
      from = to;
      size = ctx.pageSize(opts);
      continue;
    }
    const lastTime = times[times.length - 1] as string;
    const cut = times.findIndex((t) => compareTimes(t, lastTime) === 0);
    if (cut === 0) {
      if (size >= p.maxPageSize) {
        throw new HttpSourceError(
          'pagination.maxPageSize',
          `more than ${p.maxPageSize} records have ${p.field} = ${lastTime}; a time window cannot split them: raise maxPageSize up to the API's largest page, or use a cursor pagination style`,
          url,
        );
      }
      size = Math.min(size * 2, p.maxPageSize);
      continue;
    }
    yield { rows: ctx.toRows(records.slice(0, cut)), cursor: { from: lastTime } };
    from = lastTime;
    size = ctx.pageSize(opts);
  }
}

function timeOf(record: unknown, i: number, field: string, url: string): string {
  const t = getPath(record, field);
  if (!isTimestamp(t)) throw new HttpSourceError('pagination.field', `record ${i} has no ISO-8601 timestamp at "${field}" (got ${JSON.stringify(t)})`, url);
  return t;
}

/** The whole method rests on the API honouring the window and the order: check both on every page. */
function checkWindow(times: string[], from: string, to: string, p: Style, url: string): void {
  times.forEach((t, i) => {
    if (compareTimes(t, from) < 0 || compareTimes(t, to) >= 0) {
      throw new HttpSourceError('pagination', `the API returned ${p.field} = ${t}, outside the requested window [${from}, ${to}): check fromParam/toParam ("${p.fromParam}", "${p.toParam}")`, url);
    }
    if (i > 0 && compareTimes(t, times[i - 1] as string) < 0) {
      throw new HttpSourceError('pagination', `records must come in ascending ${p.field} order (record ${i} goes back from ${times[i - 1]} to ${t}): add the API's sort parameter to source.params`, url);
    }
  });
}
