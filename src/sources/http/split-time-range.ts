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

/** Probes sent at once per step (each step narrows a bracket to an eighth): latency-bound APIs answer them together. */
const FANOUT = 8;
/** At most this many steps per end: 2^62 ns is beyond any range the steps narrow. */
const MAX_STEPS = 40;

/**
 * Where the records of `[lo, hi)` lie, to within about 1/(32·parts) of their extent: a bracket `[a, b)`
 * around the first record and one around the last, each narrowed to an eighth per step by seven probes
 * sent at once (a start of 1970 costs a dozen steps of small requests, not a slice per empty year).
 * Undefined: no record.
 */
export async function findExtent(lo: bigint, hi: bigint, parts: number, unit: bigint, probe: Probe): Promise<{ first: bigint; last: bigint } | undefined> {
  const all = await probe(lo, hi);
  if (all === false) return undefined;
  // first ∈ [a1, b1), last ∈ [a2, b2)
  let [a1, b1, a2, b2] = [lo, hi, lo, hi];
  if (typeof all === 'bigint') [a1, b1, a2] = [all, all + 1n, all];
  const precision = () => {
    const known = a2 - b1; // the records surely span at least this
    const tol = known > 0n ? known / BigInt(32 * parts) : 0n;
    return tol > unit ? tol : unit;
  };
  // Both brackets narrow in the same steps: each one's precision depends on the other.
  for (let i = 0; i < MAX_STEPS; i++) {
    const tol = precision();
    const [first, last] = await Promise.all([b1 - a1 > tol ? narrowFirst(a1, b1, unit, probe) : undefined, b2 - a2 > tol ? narrowLast(a2, b2, unit, probe) : undefined]);
    if (!first && !last) break;
    if (first) [a1, b1] = first;
    if (last) [a2, b2] = last;
    if (a2 < a1) a2 = a1;
  }
  return { first: a1, last: b2 > a2 ? b2 - 1n : a2 };
}

/** One step on the bracket `[a, b)` of the first record: the earliest of the probes `[a, p)` that finds one. */
async function narrowFirst(a: bigint, b: bigint, unit: bigint, probe: Probe): Promise<[bigint, bigint] | undefined> {
  const points = inner(a, b, unit);
  if (!points.length) return undefined;
  const found = await Promise.all(points.map((p) => probe(a, p)));
  const j = found.findIndex((r) => r !== false);
  const r = found[j];
  if (typeof r === 'bigint') return [r, r + 1n];
  if (j < 0) return [points[points.length - 1] as bigint, b];
  return [j > 0 ? (points[j - 1] as bigint) : a, points[j] as bigint];
}

/** One step on the bracket `[a, b)` of the last record: the latest of the probes `[p, b)` that finds one. */
async function narrowLast(a: bigint, b: bigint, unit: bigint, probe: Probe): Promise<[bigint, bigint] | undefined> {
  const points = inner(a, b, unit);
  if (!points.length) return undefined;
  const found = await Promise.all(points.map((p) => probe(p, b)));
  let j = found.length - 1;
  while (j >= 0 && found[j] === false) j--;
  if (j < 0) return [a, points[0] as bigint];
  const r = found[j];
  const at = points[j] as bigint;
  return [typeof r === 'bigint' && r > at ? r : at, j + 1 < points.length ? (points[j + 1] as bigint) : b];
}

/** Up to FANOUT - 1 aligned points strictly inside `(a, b)`, ascending, cutting it in about equal parts. */
function inner(a: bigint, b: bigint, unit: bigint): bigint[] {
  const points: bigint[] = [];
  for (let k = 1n; k < BigInt(FANOUT); k++) {
    let m = floorTo(a + ((b - a) * k) / BigInt(FANOUT), unit);
    if (m <= a) m = ceilTo(a + 1n, unit);
    if (m > a && m < b && (points.length === 0 || m > (points[points.length - 1] as bigint))) points.push(m);
  }
  return points;
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
export async function sliceBounds(lo: bigint, hi: bigint, parts: number, unit: bigint, probe: Probe): Promise<bigint[]> {
  if (parts < 2 || hi <= lo) return [];
  const extent = await findExtent(lo, hi, parts, unit, probe);
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
