import { describe, expect, it } from 'vitest';
import { equalCuts, findExtent, roundStep, sliceBounds, type Probe } from '../../src/sources/http/split-time-range';

const S = 1_000_000_000n;
const MS = 1_000_000n;

/** A probe over a set of record times (ns), as an API would answer a one-record request; counts its calls and the steps (probes sent together). */
function api(times: bigint[], ascending: boolean): Probe & { calls: number; steps: number } {
  let inStep = false;
  const probe = (async (a: bigint, b: bigint) => {
    probe.calls++;
    if (!inStep) {
      probe.steps++;
      inStep = true;
      queueMicrotask(() => (inStep = false));
    }
    const inside = times.filter((t) => t >= a && t < b).sort((x, y) => (x < y ? -1 : 1));
    if (!inside.length) return false;
    return ascending ? (inside[0] as bigint) : true;
  }) as Probe & { calls: number; steps: number };
  probe.calls = 0;
  probe.steps = 0;
  return probe;
}

/** The slice a record at time t belongs to: slice k is [bounds[k-1], bounds[k]), closed below, open above. */
const sliceOf = (t: bigint, bounds: bigint[]) => bounds.filter((b) => b <= t).length;

describe('parallel slices: bounds', () => {
  it('equal cuts are aligned to the unit, ascending and strictly inside the range', () => {
    expect(equalCuts(0n, 100n * S, 4, S)).toEqual([25n * S, 50n * S, 75n * S]);
    const cuts = equalCuts(7n, 10n * S + 3n, 3, S);
    expect(cuts).toEqual([3n * S, 6n * S]);
    for (const c of cuts) expect(c % S).toBe(0n);
  });

  it('a range of too few units gives fewer bounds (never two equal ones, never one at an end)', () => {
    expect(equalCuts(0n, 2n * S, 4, S)).toEqual([S]);
    expect(equalCuts(0n, S, 4, S)).toEqual([]);
    expect(equalCuts(5n, 5n, 4, 1n)).toEqual([]);
    expect(equalCuts(0n, 100n, 1, 1n)).toEqual([]);
  });

  it('a record at exactly a bound belongs to one slice only: the one that starts there', () => {
    const bounds = equalCuts(0n, 100n * S, 4, S);
    const t = bounds[1] as bigint;
    const owners = [0, 1, 2, 3].filter((k) => (k === 0 || t >= (bounds[k - 1] as bigint)) && (k === 3 || t < (bounds[k] as bigint)));
    expect(owners).toEqual([2]);
    expect(sliceOf(t, bounds)).toBe(2);
    expect(sliceOf(t - 1n, bounds)).toBe(1);
  });

  it('round steps: a day, an hour, a minute, a second or a millisecond, never finer than the format', () => {
    expect(roundStep(400n * 86_400n * S, 4, 1n)).toBe(86_400n * S);
    expect(roundStep(1_600n * S, 4, 1n)).toBe(S);
    expect(roundStep(100n * S, 4, 1n)).toBe(MS);
    expect(roundStep(100n * S, 4, S)).toBe(S); // epoch_seconds: whole seconds at least
    expect(roundStep(10n, 4, 1n)).toBe(1n);
  });
});

describe('parallel slices: where the records are', () => {
  // Records between 2024-01-01 and +1,000 s; the range starts in 1970 (the default start) and ends now.
  const base = 1_704_067_200n * S;
  const times = Array.from({ length: 2_000 }, (_, i) => base + (BigInt(i) * S) / 2n + 123_456n);
  const hi = 1_790_000_000n * S;

  it('finds the first and last record in a few dozen steps of one-record probes sent together, from 1970 on', async () => {
    for (const ascending of [true, false]) {
      const probe = api(times, ascending);
      const e = await findExtent(0n, hi, 4, 1n, probe);
      const first = times[0] as bigint;
      const last = times[times.length - 1] as bigint;
      expect(e!.first).toBeLessThanOrEqual(first);
      expect(e!.last).toBeGreaterThanOrEqual(last);
      // Within 1/128 of the records' span at each end.
      const span = last - first;
      expect(first - e!.first).toBeLessThanOrEqual(span / 100n);
      expect(e!.last - last).toBeLessThanOrEqual(span / 100n);
      // Each step narrows both brackets to an eighth with 7 probes each, sent together (an ascending API names its first
      // record in one; with it go 7 probes spaced back from now, for records that reach it).
      expect(probe.steps).toBeLessThanOrEqual(14);
      expect(probe.calls).toBeLessThanOrEqual(1 + 7 + 14 * (probe.steps - 1));
      console.log(`extent from 1970, ${ascending ? 'ascending' : 'any order'}: ${probe.steps} steps, ${probe.calls} probes`);
    }
  });

  it('cuts the records into slices of similar size, bounds round and inside (from, highWater)', async () => {
    const bounds = await sliceBounds(0n, hi, 4, 1n, api(times, false));
    expect(bounds).toHaveLength(3);
    for (const b of bounds) expect(b % MS).toBe(0n);
    const sizes = [0, 1, 2, 3].map((k) => times.filter((t) => sliceOf(t, bounds) === k).length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(times.length);
    for (const n of sizes) expect(Math.abs(n - 500)).toBeLessThan(50);
  });

  it('no records: no bounds (one slice); records in one unit: no bounds either', async () => {
    expect(await sliceBounds(0n, hi, 4, 1n, api([], false))).toEqual([]);
    expect(await sliceBounds(0n, hi, 4, S, api([base, base, base + 10n], true))).toEqual([]);
  });
});
