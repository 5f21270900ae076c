import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import type { Cursor } from '../../src/cursor/cursor';
import { route } from '../../src/mock-api/routes';
import { createHttpSource, type HttpSource } from '../../src/sources/http';
import { FANOUT, sliceBounds } from '../../src/sources/http/split-time-range';
import { OrdersDataset } from '../../src/mock-api/orders-dataset';
import { fakeConfig } from './fakes/fake-config';
import { startFake, type FakeApi } from './fakes/fake-server';

/**
 * Parallel slices (issue 13 item 8): how `split()` finds where the records are, against a real local HTTP
 * server (the mock API's time window route: `from <= updated_at < to`, ascending, has_more). The range
 * starts in 1970 (the default start) and ends now; the records lie in a few minutes of 2024. Each probe
 * step is one round trip to a latency-bound API, so their number is what a sharded backfill waits for
 * before any slice starts. Reading every slice to its bound then gives every record exactly once.
 */
const RECORDS = 3_000;
const ID = 0;
const UPDATED_AT = 9;
let api: FakeApi;

beforeAll(async () => {
  api = await startFake(RECORDS, 13, (req, data) => {
    const r = route(req.url.pathname, req.url.searchParams, data);
    return r ? { status: r.status, body: r.body } : { status: 404, body: { error: 'not found' } };
  });
});
afterAll(async () => {
  await api?.close();
});

async function windowSource(extra: Record<string, unknown> = {}): Promise<HttpSource> {
  const cfg = fakeConfig({ url: `${api.url}/v1/orders/window`, records: 'data', pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more' }, lag: '0s', ...extra }).integrations[0]!.source as HttpSourceConfig;
  const s = (await createHttpSource(cfg, (v) => v)) as HttpSource;
  await s.prepare({});
  return s;
}

/** The probe requests since log entry `from`: each asks for one record of a window. */
const probeRequests = (from: number) => api.log.slice(from).filter((r) => r.url.searchParams.get('limit') === '1');

describe('parallel slices: probing an ascending time window API', () => {
  it('with a rate budget, 7 probes a step: at most 36 one-record requests; without one, 15 a step', async () => {
    const rated = await windowSource({ requestsPerSecond: 1000 });
    let before = api.log.length;
    const bounds = await rated.split!(null, 4);
    // 1 request names the first record (ascending), 7 more spaced back from now look for records that reach it (these
    // ended in 2024), then at most 5 steps of 7 probes narrow the last one; equal eighths from 1970 needed 9 steps and
    // 57 requests for records this close together.
    expect(probeRequests(before).length).toBe(api.log.length - before);
    expect(probeRequests(before).length).toBeLessThanOrEqual(43);
    await rated.close();
    const free = await windowSource();
    before = api.log.length;
    expect(await free.split!(null, 4)).toEqual(bounds);
    expect(probeRequests(before).length).toBeLessThanOrEqual(76);
    await free.close();
  });

  it('finds the records of a few minutes in a range from 1970, then cuts 4 slices of equal time spans that read every record once', async () => {
    const source = await windowSource();
    const before = api.log.length;
    const bounds = (await source.split!(null, 4)) as { from: string }[];
    const probes = probeRequests(before);
    expect(api.log.length - before).toBe(probes.length);
    expect(bounds).toHaveLength(3);
    const cuts = bounds.map((b) => Date.parse(b.from));
    expect([...cuts].sort((a, b) => a - b)).toEqual(cuts);

    // Each slice [b_k, b_k+1) read to its bound: every record exactly once, none outside its slice.
    const ranges: [Cursor, Cursor | undefined][] = [null, ...bounds].map((b, k) => [b, bounds[k]]);
    const seen = new Map<string, number>();
    const sizes: number[] = [];
    for (const [k, [after, until]] of ranges.entries()) {
      let n = 0;
      for await (const page of source.pages(after, { limit: 100, ...(until ? { until } : {}) })) {
        for (const row of page.rows) {
          const t = Date.parse(row[UPDATED_AT] as string);
          if (k > 0) expect(t).toBeGreaterThanOrEqual(cuts[k - 1] as number);
          if (k < cuts.length) expect(t).toBeLessThan(cuts[k] as number);
          seen.set(row[ID] as string, (seen.get(row[ID] as string) ?? 0) + 1);
          n++;
        }
      }
      sizes.push(n);
    }
    await source.close();
    expect(seen.size).toBe(RECORDS);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect(new Set(seen.keys())).toEqual(new Set(api.data.snapshot().map((o) => String(o.id))));
    // Cut into equal spans of time over where the records are (the API gives no counts): every slice holds
    // records, though bursts of up to 400 at one time make the counts uneven in a dataset this small.
    console.log(`split: ${probes.length} probe requests; slices ${sizes.join(' / ')} records`);
    expect((cuts[2] as number) - (cuts[1] as number)).toBe((cuts[1] as number) - (cuts[0] as number));
    for (const n of sizes) expect(n).toBeGreaterThan(0);
  });
});

describe('probe steps: round trips before any slice starts', () => {
  /** Steps of sliceBounds on a dataset's times: a step is a wave of probes sent together (each answered after a tick). */
  const HI = BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n;

  /** `live`: the dataset's times stretched `stretch` times and moved to end 2 minutes before the range's end (now). */
  async function steps(records: number, seed: number, fan: number, live?: { stretch: bigint; anyOrder?: boolean }): Promise<{ steps: number; requests: number; bounds: bigint[] }> {
    let times = new OrdersDataset(records, seed)
      .snapshot()
      .map((o) => BigInt(Date.parse(o.updated_at)) * 1_000_000n)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (live) {
      const last = times[times.length - 1] as bigint;
      times = times.map((t) => HI - 120_000_000_000n - (last - t) * live.stretch);
    }
    let inFlight = 0;
    let waves = 0;
    let requests = 0;
    const probe = async (a: bigint, b: bigint) => {
      requests++;
      if (inFlight++ === 0) waves++;
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      const first = times.find((t) => t >= a && t < b);
      // An API in any order (time_slices) only says whether the window holds a record.
      return first === undefined ? false : live?.anyOrder ? true : first;
    };
    const bounds = await sliceBounds(0n, HI, 4, 1_000_000n, probe, fan);
    return { steps: waves, requests, bounds };
  }

  it('15 probes a step take at most as many steps as 7, fewer on most datasets', async () => {
    const rows: string[] = [];
    let fewer = 0;
    for (const [records, seed] of [[30_000, 7], [3_000, 13], [100_000, 3], [1_000, 5]] as const) {
      const [rated, free] = [await steps(records, seed, FANOUT.rated), await steps(records, seed, FANOUT.free)];
      rows.push(`${records}/${seed}: ${rated.steps} steps (${rated.requests} requests) vs ${free.steps} (${free.requests})`);
      expect(free.steps).toBeLessThanOrEqual(rated.steps);
      expect(free.bounds).toHaveLength(3);
      if (free.steps < rated.steps) fewer++;
    }
    console.log(`probe steps, 7 vs 15 a step: ${rows.join('; ')}`);
    expect(fewer).toBeGreaterThanOrEqual(1);
  });

  it('records that reach up to now (a live API): their last one is bracketed in the first step, with the first', async () => {
    // The 30,000 orders (40 minutes) stretched over 20 hours and over 1.6 years, the last 2 minutes before now.
    const hours = { free: await steps(30_000, 7, FANOUT.free, { stretch: 30n }), rated: await steps(30_000, 7, FANOUT.rated, { stretch: 30n }) };
    const years = { free: await steps(30_000, 7, FANOUT.free, { stretch: 20_000n }), rated: await steps(30_000, 7, FANOUT.rated, { stretch: 20_000n }) };
    console.log(`probe steps, records up to now: 20 hours ${hours.free.steps} (${hours.free.requests} requests), rated ${hours.rated.steps}; 1.6 years ${years.free.steps} (${years.free.requests}), rated ${years.rated.steps} (${years.rated.requests})`);
    // Without the probes back from now: 4 steps each free, 5 and 6 rated (the last found by narrowing from the first).
    expect(years.free.steps).toBe(1);
    expect(years.rated.steps).toBe(1);
    expect(hours.free.steps).toBeLessThanOrEqual(2);
    // In any order only the last end is found this way; the first one still takes its steps (5, 6 with a budget).
    const anyOrder = { free: await steps(30_000, 7, FANOUT.free, { stretch: 20_000n, anyOrder: true }), rated: await steps(30_000, 7, FANOUT.rated, { stretch: 20_000n, anyOrder: true }) };
    console.log(`probe steps, records up to now in any order, 1.6 years: ${anyOrder.free.steps} (${anyOrder.free.requests} requests), rated ${anyOrder.rated.steps}`);
    expect(anyOrder.free.steps).toBeLessThanOrEqual(5);
    expect(anyOrder.rated.steps).toBeLessThanOrEqual(6);
    for (const r of [hours.free, hours.rated, years.free, years.rated, anyOrder.free, anyOrder.rated]) expect(r.bounds).toHaveLength(3);
  });
});
