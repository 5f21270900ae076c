import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { TimeWindowCursor } from '../cursors';
import { HttpSourceError } from '../http-errors';
import { getPath } from '../json-path';
import { formatTime, stepAfter, truncateTime } from '../time-format';
import { compareTimes } from '../time-key';
import { type PageContext, type RecordPage, flagOf } from './page-context';
import { groupIsWhole } from './time-window-group';
import { checkWindow, timeOf } from './window-checks';

type Style = Extract<HttpPagination, { style: 'time_window' }>;

/**
 * Time windows on a timestamp field. A run reads `[from, to)`: `from` = the cursor (closed: records
 * at exactly `from` are read), `to` = now - lag taken when the run starts (open: records at `to` wait
 * for the next run, whose `from` is this `to`). Consecutive runs tile time with no gap and no overlap.
 *
 * Inside a run, each request asks for `[from, to)` in ascending field order. An answer that the API
 * says is complete (has-more false) or that is empty covers the window. Any other answer may have been
 * cut, by the limit asked or by a cap the API applies silently, so it is cut before its last timestamp
 * T: every record before T is in this one response, `[from, T)` is done and the next request starts at
 * T. Records sharing T are requested again, never skipped. When one timestamp holds a whole answer:
 * if the answer was full, the page grows (up to maxPageSize) until the group fits one response; if it
 * was shorter than asked, the group is whole only if the API is known to give more records per
 * answer (see ./time-window-group), and then the end is confirmed by asking again after it: an
 * answer with nothing past T ends the window. One response is one consistent answer, so records
 * changing meanwhile (they move past `to`) cannot shift anything out of a page.
 */
export async function* timeWindowPages(ctx: PageContext, p: Style, after: TimeWindowCursor | null, runBound: string, opts: ReadOptions): AsyncGenerator<RecordPage> {
  // Bounds the API can take exactly: a format of whole seconds (or days) gets whole seconds (days).
  const highWater = truncateTime(runBound, p.format);
  const sent = (t: string) => formatTime(t, p.format);
  let from = after?.from ?? truncateTime(p.start, p.format);
  if (compareTimes(from, highWater) >= 0) return; // nothing new yet (and never move backwards)
  let size = Math.min(ctx.groups.first(from, ctx.pageSize(opts)), p.maxPageSize);
  /** Records at exactly `from` already yielded (a whole group): the next answer repeats them first. */
  let known = 0;
  /** The previous answer ended at `from` shorter than asked, with this many records (atEnd of them at `from`). */
  let short: { count: number; atEnd: number; to: string } | undefined;
  for (;;) {
    const step = p.maxWindow ? stepAfter(from, p.maxWindow, p.format) : highWater;
    const to = compareTimes(step, highWater) < 0 ? step : highWater;
    const { body, records, url } = await ctx.get({ [p.fromParam]: sent(from), [p.toParam]: sent(to), [p.limitParam]: String(size) }, opts, undefined, { from: sent(from), to: sent(to), limit: size });
    const times = records.map((r, i) => timeOf(r, i, p, url));
    checkWindow(times, from, to, p, url);
    const said = flagOf(getPath(body, p.hasMore));
    ctx.cap.seen(records.length);
    const atFrom = times.filter((t) => compareTimes(t, from) === 0).length;
    // More than the previous answer held before its window's end: that answer was cut by the API's cap.
    const prev = short;
    if (prev && (atFrom > prev.atEnd || times.some((t) => compareTimes(t, from) > 0 && compareTimes(t, prev.to) < 0))) ctx.cap.learn(prev.count);
    short = undefined;
    const skip = known > 0 && atFrom === known ? known : 0; // a changed group is simply read again
    known = 0;
    // Shorter than asked and the API says there is more, or as short as its known cap: the API cut it.
    const capped = records.length < size && (said === true || (ctx.cap.cap !== undefined && records.length >= ctx.cap.cap));
    if (said === true && records.length < size) ctx.cap.learn(records.length);
    if (said === true && records.length === 0) {
      throw new HttpSourceError('pagination.hasMore', `the API answered an empty page for [${from}, ${to}) and says more records follow ("${p.hasMore}" is true): tidemark stops rather than take the window as complete`, url);
    }
    if (said === false || records.length === 0 || (records.length === skip && records.length < size && !capped)) {
      // The window is complete: the API says so, or nothing lies past what was already read.
      if (records.length > skip || to === highWater) yield { records: records.slice(skip), cursor: { from: to } };
      else opts.onIdle?.();
      if (to === highWater) return;
      from = to;
      size = ctx.pageSize(opts);
      continue;
    }
    const lastTime = times[times.length - 1] as string;
    if (compareTimes(truncateTime(lastTime, p.format), lastTime) !== 0) {
      throw new HttpSourceError('pagination.format', `records carry ${p.field} = ${lastTime}, finer than the API's window bounds (${typeof p.format === 'string' ? p.format : p.format.pattern}) can say: a window cannot start there. Use a format as fine as the field, or a cursor pagination style`, url);
    }
    const cut = times.findIndex((t) => compareTimes(t, lastTime) === 0);
    if (cut > skip) {
      yield { records: records.slice(skip, cut), cursor: { from: lastTime } };
      if (said === undefined && records.length < size) short = { count: records.length, atEnd: records.length - cut, to };
      from = lastTime;
      size = ctx.pageSize(opts);
      continue;
    }
    // Every new record of the answer shares lastTime.
    if (records.length < size && !capped) {
      if (!(await groupIsWhole(ctx, p, { count: records.length, from, size }, opts))) {
        throw new HttpSourceError(
          'pagination',
          `the API answered ${records.length} records (fewer than the ${size} asked, with no has-more flag), all with ${p.field} = ${lastTime}, and has never given more in one answer: tidemark cannot tell whether that is every record at ${lastTime} or the API's page cap. Set pagination.hasMore to the API's has-more flag, or use a cursor pagination style`,
          url,
        );
      }
      yield { records: records.slice(skip), cursor: { from: lastTime } };
      known = records.length - cut;
      from = lastTime;
      size = ctx.pageSize(opts);
      continue;
    }
    if (capped) {
      throw new HttpSourceError(
        'pagination',
        `the API gives at most ${records.length} records per request (it ignores larger limits) and at least that many have ${p.field} = ${lastTime}; a time window cannot split them: use a cursor pagination style`,
        url,
      );
    }
    if (size >= p.maxPageSize) {
      throw new HttpSourceError(
        'pagination.maxPageSize',
        `more than ${p.maxPageSize} records have ${p.field} = ${lastTime}; a time window cannot split them: raise maxPageSize up to the API's largest page, or use a cursor pagination style`,
        url,
      );
    }
    size = Math.min(size * 2, p.maxPageSize);
    ctx.groups.note(from, size);
    known = skip; // the same request, larger: the group already read comes first again
  }
}
