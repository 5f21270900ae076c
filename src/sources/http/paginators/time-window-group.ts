import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import { formatTime, truncateTime } from '../time-format';
import { addMs, compareTimes } from '../time-key';
import type { PageContext } from './page-context';
import { checkWindow, timeOf } from './window-checks';

type Style = Extract<HttpPagination, { style: 'time_window' }>;

export interface ShortGroup {
  /** records in the answer, all new ones at one timestamp */
  count: number;
  from: string;
  /** records asked */
  size: number;
}

/**
 * An answer shorter than asked, with no has-more flag, whose new records all share one timestamp T:
 * either every record of the window from T on, or the API's silent page cap cutting a larger group at
 * T. A time window cannot ask past part of a group, so this is decided from the API's known capacity:
 * if it has ever given more records in one answer, this answer was not cut (a cap does not vary) and
 * the group is whole. Without that knowledge, one probe asks the window before `from` (as long as
 * maxWindow allows) for as many records: more than `count` proves the capacity; otherwise nothing can
 * prove the group whole.
 */
export async function groupIsWhole(ctx: PageContext, p: Style, g: ShortGroup, opts: ReadOptions): Promise<boolean> {
  if (g.count < ctx.cap.capacity) return true;
  const lo = truncateTime(p.maxWindow && compareTimes(addMs(g.from, -p.maxWindow), p.start) > 0 ? addMs(g.from, -p.maxWindow) : p.start, p.format);
  if (compareTimes(lo, g.from) >= 0) return false; // nothing before the window to ask about
  const { records, url } = await ctx.get({ [p.fromParam]: formatTime(lo, p.format), [p.toParam]: formatTime(g.from, p.format), [p.limitParam]: String(g.size) }, opts, undefined, { from: formatTime(lo, p.format), to: formatTime(g.from, p.format), limit: g.size });
  checkWindow(records.map((r, i) => timeOf(r, i, p, url)), lo, g.from, p, url);
  ctx.cap.seen(records.length);
  return g.count < ctx.cap.capacity;
}
