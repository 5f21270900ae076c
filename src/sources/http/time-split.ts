import type { HttpPagination } from '../../config/http-pagination-schema';
import type { Cursor } from '../../cursor/cursor';
import type { RangeScale } from '../source';
import type { TimeSliceCursor, TimeWindowCursor } from './cursors';
import { HttpSourceError } from './http-errors';
import type { PageContext } from './paginators/page-context';
import { timeOf } from './paginators/window-checks';
import { equalCuts, FANOUT, findExtent, floorTo, roundStep, sliceBounds, type Probe } from './split-time-range';
import { formatTime, isoOfNs, truncateTime, unitNs } from './time-format';
import { compareTimes, timeKey } from './time-key';

type Sliceable = Extract<HttpPagination, { style: 'time_window' | 'time_slices' }>;

const WHY_NOT: Record<Exclude<HttpPagination['style'], Sliceable['style']>, string> = {
  cursor: 'it follows the tokens the API hands over from one position, so a part of the list cannot be asked for on its own',
  starting_after: 'it follows ids from one position, so a part of the list cannot be asked for on its own',
  page: 'its time filter (sinceParam) has no upper bound, so a slice cannot end where the next one starts',
  offset: 'its time filter (sinceParam) has no upper bound, so a slice cannot end where the next one starts',
  link_header: 'it follows the next links the API hands over from one position (and a since filter has no upper bound)',
  next_url: 'it follows the next links the API hands over from one position (and a since filter has no upper bound)',
  feed: 'the API cannot filter the list by time',
};

/** Whether a style can be cut into time slices read in parallel: a window bound the API filters by on both ends is its cursor. */
export function isSliceable(p: HttpPagination): p is Sliceable {
  return p.style === 'time_window' || p.style === 'time_slices';
}

/** A sharded backfill of a style that cannot split fails before anything runs, saying why and what to do. */
export function sliceRefusal(p: HttpPagination): HttpSourceError {
  const why = isSliceable(p) ? '' : WHY_NOT[p.style];
  return new HttpSourceError(
    'pagination.style',
    `pagination style ${p.style} cannot be cut into parallel slices: ${why}. Run the backfill without --shards; if the API filters by time on both ends (e.g. from/to, created[gte]/created[lt]), use style time_window (ascending lists) or time_slices (any order), which split`,
  );
}

/**
 * `split()` of the http source: up to `parts - 1` cursors `{from: T}` cutting `[after, runBound)` into
 * slices of similar time span over where the records are (found with a few one-record requests, see
 * split-time-range.ts; with maxWindow, over [start, now) without probes). Slice k reads `[T_k, T_k+1)`:
 * a record at exactly a bound belongs to the slice that starts there. Bounds are aligned to the style's
 * format, so the API sees exactly these bounds.
 */
export async function splitTimeRange(ctx: PageContext, p: HttpPagination, after: Cursor, runBound: string | null, parts: number, rated: boolean): Promise<Cursor[]> {
  if (!isSliceable(p)) throw sliceRefusal(p);
  if (runBound === null) throw new Error('http source: prepare() must run before split()');
  const lo = placeOf(p, after);
  const hi = timeKey(truncateTime(runBound, p.format)) as bigint;
  const unit = unitNs(p.format);
  // An API that limits the window (maxWindow) would refuse the wide probes; its `start` is required and set near
  // the oldest record, so [start, now) is where the records are.
  const bounds = p.maxWindow ? equalCuts(lo, hi, parts, roundStep(hi - lo, parts, unit)) : await sliceBounds(lo, hi, parts, unit, probeOf(ctx, p), rated ? FANOUT.rated : FANOUT.free);
  return bounds.map((b) => ({ from: isoOfNs(b) }));
}

const MS_NS = 1_000_000n;

/** Where a read from `after` stands, in ns: a cursor inside a slice (time_slices) counts as read to that slice's end. */
function placeOf(p: Sliceable, after: Cursor): bigint {
  const c = after as TimeWindowCursor | TimeSliceCursor | null;
  const start = c ? ('to' in c && compareTimes(c.to, c.from) > 0 ? c.to : c.from) : truncateTime(p.start, p.format);
  return timeKey(start) as bigint;
}

/**
 * The http source's RangeScale (work stealing between slices): time in ms between where a read stands and
 * a slice's end (or the run's bound); sample bounds are `{from: T}` bounds on whole milliseconds or coarser
 * (the same instant to an API that reads its parameters in ms), as split()'s are.
 */
export function timeRangeScale(ctx: PageContext, p: HttpPagination, runBound: () => string | null, rated: boolean): RangeScale | undefined {
  if (!isSliceable(p)) return undefined;
  const ends = (after: Cursor, until: Cursor): [bigint, bigint] => {
    const bound = runBound();
    if (bound === null) throw new Error('http source: prepare() must run before rangeScale');
    return [placeOf(p, after), timeKey(truncateTime(readBound(p, bound, until ?? undefined), p.format)) as bigint];
  };
  return {
    span(after, until) {
      const [lo, hi] = ends(after, until);
      return hi > lo ? Number(hi - lo) / 1e6 : 0;
    },
    async recordsEnd(after, until, signal) {
      const [lo, hi] = ends(after, until);
      const unit = unitNs(p.format);
      // Stopped: no new probe, and those waiting for the rate budget or an answer give up.
      const probe = probeOf(ctx, p, signal);
      const unlessStopped: Probe = (a, b) => (signal?.throwIfAborted(), probe(a, b));
      const extent = hi > lo ? await findExtent(lo, hi, 2, unit, unlessStopped, rated ? FANOUT.rated : FANOUT.free) : undefined;
      if (!extent) return null;
      const end = floorTo(extent.last, unit) + unit;
      return { from: isoOfNs(end < hi ? end : hi) };
    },
    async sample(after, until, parts, limit) {
      const [lo, hi] = ends(after, until);
      const unit = unitNs(p.format);
      const step = unit > MS_NS ? unit : MS_NS;
      if (hi <= lo) return { bounds: [], counts: [] };
      const count = (points: bigint[]) => Promise.all(points.slice(1).map((b, i) => countOf(ctx, p, points[i] as bigint, b, limit)));
      const points = [lo, ...equalCuts(lo, hi, parts, step), hi];
      const counts = await count(points);
      // A full span's count is only a floor: records packed into a few spans (a business that grew, a burst) read
      // as a page or two in all, never worth a take. Those spans are cut again, once, within the same number of
      // requests (an acceptance run: 12,000 records in the first sixteenth, no take, one shard read them alone).
      const full = counts.flatMap((c, i) => (c >= limit && (points[i + 1] as bigint) - (points[i] as bigint) > step ? [i] : []));
      if (!full.length) return { bounds: points.map((t) => ({ from: isoOfNs(t) })), counts };
      const per = Math.max(2, Math.floor(parts / full.length));
      const chosen = new Set(full.slice(0, Math.max(1, Math.floor(parts / per))));
      const refined = await Promise.all(
        [...chosen].map(async (i) => {
          const [a, b] = [points[i] as bigint, points[i + 1] as bigint];
          const sub = [a, ...equalCuts(a, b, per, step), b];
          return [i, sub, await count(sub)] as const;
        }),
      );
      const byIndex = new Map(refined.map(([i, sub, c]) => [i, { sub, c }]));
      const outPoints: bigint[] = [lo];
      const outCounts: number[] = [];
      counts.forEach((c, i) => {
        const r = byIndex.get(i);
        outPoints.push(...(r ? r.sub.slice(1) : [points[i + 1] as bigint]));
        outCounts.push(...(r ? r.c : [c]));
      });
      return { bounds: outPoints.map((t) => ({ from: isoOfNs(t) })), counts: outCounts };
    },
    key(cursor) {
      const at = placeOf(p, cursor) as bigint | undefined;
      return typeof at === 'bigint' ? sortKeyOfNs(at) : undefined;
    },
  };
}

const KEY_BIAS = 10n ** 21n;
const KEY_DIGITS = 22;

/**
 * A time in ns since the epoch as fixed-width decimal text that sorts as the times do (biased by 10^21 ns, about
 * 31,700 years, so times before 1970 sort too); undefined beyond that.
 */
export function sortKeyOfNs(t: bigint): string | undefined {
  const v = t + KEY_BIAS;
  return v < 0n || v >= 10n ** BigInt(KEY_DIGITS) ? undefined : v.toString().padStart(KEY_DIGITS, '0');
}

/** One request for up to `limit` records of `[a, b)` (the style's limit parameter, where it has one). */
async function windowRequest(ctx: PageContext, p: Sliceable, a: bigint, b: bigint, limit: number, signal?: AbortSignal) {
  const from = formatTime(isoOfNs(a), p.format);
  const to = formatTime(isoOfNs(b), p.format);
  const limitParam = p.style === 'time_window' ? p.limitParam : 'limitParam' in p.inner ? p.inner.limitParam : undefined;
  return ctx.get({ [p.fromParam]: from, [p.toParam]: to, ...(limitParam ? { [limitParam]: String(limit) } : {}) }, { limit, ...(signal ? { signal } : {}) }, undefined, { from, to, limit });
}

/** One request for up to `limit` records of `[a, b)`: how many came back. */
async function countOf(ctx: PageContext, p: Sliceable, a: bigint, b: bigint, limit: number): Promise<number> {
  const { records } = await windowRequest(ctx, p, a, b, limit);
  return Math.min(records.length, limit);
}

/** One request for one record of `[from, to)`: is there any, and (ascending time windows) when is the first. */
function probeOf(ctx: PageContext, p: Sliceable, signal?: AbortSignal): Probe {
  return async (a, b) => {
    const { records, url } = await windowRequest(ctx, p, a, b, 1, signal);
    if (p.style !== 'time_window') return records.length > 0;
    return records.length ? (timeKey(timeOf(records[0], 0, p, url)) as bigint) : false;
  };
}

/** The upper end of a read: the run's bound, or a slice's end (`until`, exclusive) when that comes first. */
export function readBound(p: HttpPagination, runBound: string, until: Cursor | undefined): string {
  if (until === undefined || until === null) return runBound;
  if (!isSliceable(p)) throw sliceRefusal(p);
  const end = (until as TimeWindowCursor).from;
  return compareTimes(end, runBound) < 0 ? end : runBound;
}
