/**
 * The arithmetic of parallel slices (sharded backfills of time-filtered HTTP APIs), in nanoseconds since
 * the epoch. Only the balance of the slices rests on it: any ascending bounds inside the range tile it
 * exactly (each slice `[b_k, b_k+1)`, closed below, open above), so a probe that misjudges where the
 * records are costs speed, never a record.
 */

/** Up to `parts - 1` bounds cutting `[lo, hi)` into equal parts, each a multiple of `unit`, strictly inside and ascending. */
export function equalCuts(lo: bigint, hi: bigint, parts: number, unit: bigint): bigint[] {
  const cuts: bigint[] = [];
  if (parts < 2 || hi <= lo) return cuts;
  const n = BigInt(parts);
  for (let k = 1n; k < n; k++) {
    const b = floorTo(lo + ((hi - lo) * k) / n, unit);
    if (b > lo && b < hi && (cuts.length === 0 || b > (cuts[cuts.length - 1] as bigint))) cuts.push(b);
  }
  return cuts;
}

/**
 * What a probe request learns about `[from, to)`: false = no record there; true = some record (time
 * unknown); a bigint = the earliest record's time (an API that answers in ascending time order).
 */
export type Probe = (from: bigint, to: bigint) => Promise<boolean | bigint>;

/**
 * Probes sent at once per step, less one (a step narrows a bracket to a `fan`th, or by an order of magnitude when
 * far wider than the records): latency-bound APIs answer them together. Without a rate budget a round trip is
 * what every slice waits for, so twice as many per step (16): at most as many steps, often fewer (the bench's
 * API: 4 instead of 6, 46 requests instead of 36); with one (requestsPerSecond), each probe spends the budget.
 */
export const FANOUT = { rated: 8, free: 16 };
/** At most this many steps per end: 2^62 ns is beyond any range the steps narrow. */
const MAX_STEPS = 40;

/**
 * Where the records of `[lo, hi)` lie, to within about 1/(32·parts) of their extent: a bracket `[a, b)`
 * around the first record and one around the last, each narrowed per step by `fan - 1` probes sent at once:
 * spaced geometrically away from the records already found while the bracket is far wider than they are
 * (records of 40 minutes in a range from 1970: the order of magnitude in one step), then to a `fan`th.
 * An ascending API names its first record in the first probe: 6 steps in all for that case with 8 (was 9), 4 with 16.
 * The first step also probes back from `hi` geometrically: records that reach up to now (a live API's, the usual
 * backfill) have their last one found there, 1 step in all for records of a day or more instead of 4-6.
 * Undefined: no record.
 */
export async function findExtent(lo: bigint, hi: bigint, parts: number, unit: bigint, probe: Probe, fan = FANOUT.rated): Promise<{ first: bigint; last: bigint } | undefined> {
  // With the whole range's probe go probes spaced geometrically back from hi: records that reach up to now (a live
  // API's) have their last one bracketed in this first step, finely enough for records of a day or more.
  const [all, tail] = await Promise.all([probe(lo, hi), lastNearEnd(lo, hi, unit, probe, fan)]);
  if (all === false) return undefined;
  // first ∈ [a1, b1), last ∈ [a2, b2)
  let [a1, b1, a2, b2] = [lo, hi, lo, hi];
  if (typeof all === 'bigint') [a1, b1, a2] = [all, all + 1n, all];
  // Kept only when finer than a step over the whole bracket would be: otherwise (records that ended long ago) the
  // steps run as they would without it, the same points, not a bracket shifted by chance.
  if (tail && tail[1] - tail[0] <= (hi - a2) / BigInt(fan)) [a2, b2] = [tail[0] > a2 ? tail[0] : a2, tail[1]];
  const precision = () => {
    const known = a2 - b1; // the records surely span at least this
    const tol = known > 0n ? known / BigInt(32 * parts) : 0n;
    return tol > unit ? tol : unit;
  };
  // Both brackets narrow in the same steps: each one's precision depends on the other.
  for (let i = 0; i < MAX_STEPS; i++) {
    const tol = precision();
    const [first, last] = await Promise.all([b1 - a1 > tol ? narrowFirst(a1, b1, a2, unit, probe, fan) : undefined, b2 - a2 > tol ? narrowLast(a2, b2, b1 - 1n, unit, probe, fan) : undefined]);
    if (!first && !last) break;
    if (first) [a1, b1] = first;
    if (last) [a2, b2] = last;
    if (a2 < a1) a2 = a1;
  }
  return { first: a1, last: b2 > a2 ? b2 - 1n : a2 };
}

/** One step on the bracket `[a, b)` of the first record: the earliest of the probes `[a, p)` that finds one; `near`: the latest time known to be at or after it. */
async function narrowFirst(a: bigint, b: bigint, near: bigint, unit: bigint, probe: Probe, fan: number): Promise<[bigint, bigint] | undefined> {
  const points = near > b ? farPoints(a, b, near - b, unit, false, fan) : inner(a, b, unit, fan);
  if (!points.length) return undefined;
  const found = await Promise.all(points.map((p) => probe(a, p)));
  const j = found.findIndex((r) => r !== false);
  const r = found[j];
  if (typeof r === 'bigint') return [r, r + 1n];
  if (j < 0) return [points[points.length - 1] as bigint, b];
  return [j > 0 ? (points[j - 1] as bigint) : a, points[j] as bigint];
}

/** One step on the bracket `[a, b)` of the last record; `near`: the earliest time known to be at or before it. */
function narrowLast(a: bigint, b: bigint, near: bigint, unit: bigint, probe: Probe, fan: number): Promise<[bigint, bigint] | undefined> {
  return latestFound(a, b, near <= a ? farPoints(a, b, a - near, unit, true, fan) : inner(a, b, unit, fan), probe);
}

/** The first step on the last record, nothing known yet: probes spaced geometrically back from `b` (records up to now). */
function lastNearEnd(a: bigint, b: bigint, unit: bigint, probe: Probe, fan: number): Promise<[bigint, bigint] | undefined> {
  return latestFound(a, b, farPoints(a, b, unit, unit, false, fan), probe);
}

/** The bracket of the last record from probes `[p, b)` at `points` (ascending): after the latest that finds one. */
async function latestFound(a: bigint, b: bigint, points: bigint[], probe: Probe): Promise<[bigint, bigint] | undefined> {
  if (!points.length) return undefined;
  const found = await Promise.all(points.map((p) => probe(p, b)));
  let j = found.length - 1;
  while (j >= 0 && found[j] === false) j--;
  if (j < 0) return [a, points[0] as bigint];
  const r = found[j];
  const at = points[j] as bigint;
  return [typeof r === 'bigint' && r > at ? r : at, j + 1 < points.length ? (points[j + 1] as bigint) : b];
}

/** Up to `fan - 1` aligned points strictly inside `(a, b)`, ascending, cutting it in about equal parts. */
function inner(a: bigint, b: bigint, unit: bigint, fan: number): bigint[] {
  const points: bigint[] = [];
  for (let k = 1n; k < BigInt(fan); k++) points.push(a + ((b - a) * k) / BigInt(fan));
  return aligned(points, a, b, unit);
}

/**
 * Points for a bracket much wider than the records seen so far (`known`: how far the other end's records
 * lie from it): spaced geometrically away from the records, so one step finds the end's order of magnitude
 * (records of 40 minutes in a range from 1970: the last one within a factor of 3 in one step, not 1/8 of 56 years).
 * Equal spacing when the bracket is not that wide. `fromLow`: the records lie below `a` (bracket of the last).
 */
function farPoints(a: bigint, b: bigint, known: bigint, unit: bigint, fromLow: boolean, fan: number): bigint[] {
  const d0 = known > unit ? known : unit;
  const width = b - a;
  if (width <= d0 * BigInt(fan)) return inner(a, b, unit, fan);
  // Floats suffice: the points only steer the search, any points inside the bracket keep it exact.
  const ratio = Number(width) / Number(d0);
  const offsets: bigint[] = [];
  for (let k = 1; k < fan; k++) offsets.push(BigInt(Math.floor(Number(d0) * ratio ** ((k - 1) / (fan - 1)))));
  const points = fromLow ? offsets.map((o) => a + o) : offsets.map((o) => b - o).reverse();
  return aligned(points, a, b, unit);
}

/** The points floored to `unit` (or raised past `a`), strictly inside `(a, b)`, ascending, without repeats. */
function aligned(points: bigint[], a: bigint, b: bigint, unit: bigint): bigint[] {
  const out: bigint[] = [];
  for (const p of points) {
    let m = floorTo(p, unit);
    if (m <= a) m = ceilTo(a + 1n, unit);
    if (m > a && m < b && (out.length === 0 || m > (out[out.length - 1] as bigint))) out.push(m);
  }
  return out;
}

export function floorTo(t: bigint, unit: bigint): bigint {
  const r = t % unit;
  return r === 0n ? t : t - (r < 0n ? r + unit : r);
}

function ceilTo(t: bigint, unit: bigint): bigint {
  const f = floorTo(t, unit);
  return f === t ? t : f + unit;
}

/**
 * The slice bounds of a sharded read of `[lo, hi)`: the records' extent (from `probe`) cut into `parts`
 * equal spans of time, aligned to `unit` (what the API's time format can say), strictly inside (lo, hi).
 * The first slice also covers the empty stretch before the first record, the last one the time after the
 * last record up to `hi`. Fewer bounds come back when the records span too few units (or there are none).
 */
export async function sliceBounds(lo: bigint, hi: bigint, parts: number, unit: bigint, probe: Probe, fan = FANOUT.rated): Promise<bigint[]> {
  if (parts < 2 || hi <= lo) return [];
  const extent = await findExtent(lo, hi, parts, unit, probe, fan);
  if (!extent) return [];
  const step = roundStep(extent.last - extent.first, parts, unit);
  const from = floorTo(extent.first, step);
  const to = floorTo(extent.last, step) + step;
  return equalCuts(from, to, parts, step).filter((b) => b > lo && b < hi);
}

const MS = 1_000_000n;
const ROUND = [86_400_000n * MS, 3_600_000n * MS, 60_000n * MS, 1_000n * MS, MS];

/**
 * The coarsest round step (a day, an hour, a minute, a second, a millisecond) that still cuts `span` into
 * `parts` slices finely (1/64 of a slice), and at least the format's unit: round bounds mean the same to an
 * API that reads its time parameters in milliseconds or seconds, whatever digits the format could send.
 */
export function roundStep(span: bigint, parts: number, unit: bigint): bigint {
  const fine = span / BigInt(parts * 64);
  const step = ROUND.find((r) => r <= fine) ?? unit;
  return step > unit ? step : unit;
}
