import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { HttpRetriesExhaustedError } from '../../src/sources/http';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { apiConfig, expectExactCopy, httpSource, pause, readAll, runner, TOKEN } from './helpers';

let dst: TestDatabase;
let api: MockApi;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_resilience');
});
afterEach(async () => {
  await api?.close();
  await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});
afterAll(async () => {
  await dst?.drop();
});

describe('http source resilience (real HTTP, real PostgreSQL)', () => {
  it('a full sync through 10% injected 5xx and 429s (Retry-After) ends with the exact dataset', async () => {
    api = await startMockApi({ records: 3000, seed: 21, token: TOKEN, failRate: 0.05, throttleRate: 0.05, retryAfter: 1 });
    config = apiConfig('time_window', {}, { batchSize: 50 });
    const t0 = Date.now();
    const res = await r.run({ runKey: 'faults/1' });
    const secs = (Date.now() - t0) / 1000;
    expect(res).toMatchObject({ rows: 3000, done: true });
    expect(await expectExactCopy(dst.url, api)).toBe(3000);
    const s = api.stats();
    const errors = (s.status[500] ?? 0) + (s.status[502] ?? 0) + (s.status[503] ?? 0);
    const throttled = s.status[429] ?? 0;
    expect(errors).toBe(s.faults.error);
    expect(throttled).toBe(s.faults.throttle);
    expect(errors).toBeGreaterThan(0);
    expect(throttled).toBeGreaterThan(0);
    // Every failed request was retried and every page was eventually served.
    expect(s.requests).toBe(s.served + errors + throttled);
    const [run] = await sql<{ attempts: string; rows_committed: string }>(dst.url, `SELECT attempts::text, rows_committed::text FROM tidemark.runs WHERE run_id = 'faults/1'`);
    expect(run).toEqual({ attempts: '1', rows_committed: '3000' });
    console.log(
      `10% faults: ${s.requests} requests, ${errors} × 5xx + ${throttled} × 429 injected = ${errors + throttled} retries (${((100 * (errors + throttled)) / s.requests).toFixed(1)}%), ` +
        `${s.served} pages served, 3000/3000 rows exact, ${secs.toFixed(1)}s`,
    );
  });

  it('connection drops, truncated JSON, 5xx and 429 are each retried; the data stays exact', async () => {
    api = await startMockApi({ records: 1000, seed: 22, token: TOKEN, retryAfter: 0 });
    api.injectFaults('drop', 'truncate', 'error', 'throttle', 'truncate');
    const s = await httpSource(api, 'cursor');
    expect(await readAll(s, { limit: 250 })).toBe(1000);
    expect(s.stats.retries).toBe(5);
    expect(api.stats().faults).toMatchObject({ drop: 1, truncate: 2, error: 1, throttle: 1 });
    await s.close();
  });

  it('a hung request is timed out and retried', async () => {
    api = await startMockApi({ records: 500, seed: 23, token: TOKEN });
    api.injectFaults('hang');
    const s = await httpSource(api, 'page', { timeout: '400ms' });
    const t0 = Date.now();
    expect(await readAll(s, { limit: 500 })).toBe(500);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(s.stats.retries).toBe(1);
    expect(api.stats().faults.hang).toBe(1);
    await s.close();
  });

  it('cancellation aborts the request in flight at once (source and activity)', async () => {
    api = await startMockApi({ records: 500, seed: 24, token: TOKEN });
    api.injectFaults('hang');
    const s = await httpSource(api, 'time_window', { timeout: '60s' });
    const ctl = new AbortController();
    const reading = readAll(s, { limit: 100, signal: ctl.signal });
    const settled = reading.catch((e: unknown) => e);
    while (api.stats().faults.hang < 1) await pause(10);
    const t0 = Date.now();
    ctl.abort(new Error('stop now'));
    expect(await settled).toMatchObject({ message: 'stop now' });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(250);
    await s.close();

    // Through the activity: Temporal's cancellation reaches the hung request; the run ends cancelled.
    api.injectFaults('hang');
    config = apiConfig('time_window', { timeout: '60s' });
    const env = new MockActivityEnvironment();
    const running = r.run({ runKey: 'cancel/1' }, env).catch((e: unknown) => e);
    while (api.stats().faults.hang < 2) await pause(10);
    const t1 = Date.now();
    env.cancel();
    expect(await running).toBeInstanceOf(CancelledFailure);
    const activityMs = Date.now() - t1;
    expect(activityMs).toBeLessThan(1000);
    while (api.stats().clientAborts < 2) await pause(10); // the server saw both requests abandoned
    console.log(`cancellation: in-flight request aborted in ${ms}ms (source), ${activityMs}ms (activity)`);
  });

  it('Retry-After is honoured, heartbeating (onIdle) while waiting', async () => {
    api = await startMockApi({ records: 300, seed: 25, token: TOKEN, retryAfter: 3 });
    api.injectFaults('throttle');
    const s = await httpSource(api, 'starting_after');
    let idle = 0;
    const t0 = Date.now();
    expect(await readAll(s, { limit: 300, onIdle: () => idle++ })).toBe(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2950);
    expect(idle).toBeGreaterThanOrEqual(1);
    await s.close();
  });

  it('a Retry-After holds back the integration that got it (all its readers), not the others calling the same API', async () => {
    // An acceptance run: one throttled tenant slowed 30 others on the same host from 0.3 to 14 s, silently.
    api = await startMockApi({ records: 300, seed: 28, token: TOKEN, retryAfter: 2 });
    const [a, a2, b] = await Promise.all([httpSource(api, 'starting_after', {}, {}, 'shop/acme'), httpSource(api, 'starting_after', {}, {}, 'shop/acme'), httpSource(api, 'starting_after', {}, {}, 'shop/globex')]);
    api.injectFaults('throttle');
    const t0 = Date.now();
    const took = (p: Promise<number>) => p.then((n) => ({ n, ms: Date.now() - t0 }));
    const first = took(readAll(a, { limit: 100 })); // its first request meets the 429
    while (api.stats().faults.throttle < 1) await pause(5);
    const [sameTenant, otherTenant] = await Promise.all([took(readAll(a2, { limit: 100 })), took(readAll(b, { limit: 100 }))]);
    expect((await first).n).toBe(300);
    expect((await first).ms).toBeGreaterThanOrEqual(1950);
    expect(sameTenant).toMatchObject({ n: 300 });
    expect(sameTenant.ms).toBeGreaterThanOrEqual(1950); // acme's other reader waits with it
    expect(otherTenant).toMatchObject({ n: 300 });
    expect(otherTenant.ms).toBeLessThan(1000); // globex reads on
    await Promise.all([a.close(), a2.close(), b.close()]);
  });

  it('the requests-per-second limit is shared by every source calling the same API', async () => {
    api = await startMockApi({ records: 1000, seed: 26, token: TOKEN });
    const [a, b] = await Promise.all([httpSource(api, 'starting_after', { requestsPerSecond: 10 }), httpSource(api, 'cursor', { requestsPerSecond: 10 })]);
    const t0 = Date.now();
    const rows = await Promise.all([readAll(a, { limit: 100 }), readAll(b, { limit: 100 })]);
    const secs = (Date.now() - t0) / 1000;
    expect(rows).toEqual([1000, 1000]);
    const requests = a.stats.requests + b.stats.requests; // 10 + 11 (the last empty page of starting_after is not needed)
    // Alone, each source would take ~1s; sharing 10 requests/s, both together need (requests - 1) / 10 s.
    expect(secs).toBeGreaterThanOrEqual(((requests - 1) / 10) * 0.95);
    await Promise.all([a.close(), b.close()]);
  });

  it('retries used up: a retryable failure; the next attempt resumes from the checkpoint and finishes exactly', async () => {
    api = await startMockApi({ records: 1000, seed: 27, token: TOKEN });
    config = apiConfig('cursor', { retries: 2 });
    let injected = false;
    const failing = r.run({ runKey: 'exhaust/1' }, new MockActivityEnvironment(), {
      afterBatch: async ({ pages }) => {
        if (pages === 2 && !injected) {
          injected = true;
          api.injectFaults('error', 'error', 'error'); // the first try and both retries of one request
        }
      },
    });
    const err = await failing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpRetriesExhaustedError);
    expect((err as Error).message).toMatch(/failed 3 times \(last: 50\d/);
    const [cp] = await sql<{ rows_done: string }>(dst.url, `SELECT rows_done::text FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(Number(cp!.rows_done)).toBeGreaterThanOrEqual(200);
    const env = new MockActivityEnvironment({ attempt: 2 });
    const res = await r.run({ runKey: 'exhaust/1' }, env);
    expect(res).toMatchObject({ rows: 1000, done: true });
    await expectExactCopy(dst.url, api);
  });
});
