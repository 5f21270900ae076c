import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { apiConfig, expectExactCopy, pause, runner, TABLE, TOKEN } from './helpers';
import { createActivities } from '../../src/activities';
import { MockActivityEnvironment } from '@temporalio/testing';

// A run sends its first request while the sink is still being prepared (catalog queries, the staging table): an
// API's round trip and the setup overlap. Shown deterministically: another session holds the target locked, so the
// sink's setup waits for it; the API has the run's first request while it waits.
const RECORDS = 1_000;
let dst: TestDatabase;
let api: MockApi;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_early_first');
  api = await startMockApi({ records: RECORDS, seed: 5, token: TOKEN });
});
afterAll(async () => {
  await api?.close();
  await dst?.drop();
});

async function until(what: string, ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await pause(20);
  }
}

describe('a run reads its first page while the sink prepares', () => {
  it('the first request reaches the API while the target is locked by another session; the run then completes exactly', async () => {
    config = apiConfig('time_window');
    expect(await r.run({ runKey: 'early/backfill' })).toMatchObject({ rows: RECORDS, done: true });
    api.mutate(40);
    await pause(5); // past the changes' timestamp: the sync's bound (now - lag) includes them

    const locker = new pg.Client({ connectionString: dst.url });
    await locker.connect();
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await locker.query('COMMIT');
      await locker.end();
    };
    try {
      await locker.query(`BEGIN; LOCK TABLE ${TABLE} IN ACCESS EXCLUSIVE MODE`);
      const before = api.stats().requests;
      const run = r.run({ runKey: 'early/sync', mode: 'sync' });
      run.catch(() => undefined); // awaited below
      const waiting = async () => (await sql<{ n: number }>(dst.url, `SELECT count(*)::int AS n FROM pg_locks WHERE relation = '${TABLE}'::regclass AND NOT granted`))[0]!.n > 0;
      await until('the sink waiting for the lock, and the first request at the API', async () => (await waiting()) && api.stats().requests > before);
      expect(await waiting()).toBe(true); // still waiting: nothing was written
      await release();
      expect(await run).toMatchObject({ done: true });
      expect(await expectExactCopy(dst.url, api)).toBe(api.snapshot().length);
    } finally {
      await release();
    }
  });

  it('a sink that cannot be prepared fails the run at once, naming its table; the first read in flight is aborted', async () => {
    // An API that answers after 5 s: the run must not wait for it to report the sink's error.
    let asked = 0;
    let aborted = 0;
    const slow: Server = createServer((req, res) => {
      asked++;
      const timer = setTimeout(() => res.end(JSON.stringify({ data: [] })), 5_000);
      res.on('close', () => {
        if (!res.writableEnded) aborted++;
        clearTimeout(timer);
      });
    });
    await new Promise<void>((done) => slow.listen(0, '127.0.0.1', done));
    try {
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
      const cfg = apiConfig('time_window', { url: `${url}/v1/orders/window` }, { sink: { url: '${DST_URL}', table: 'api.no_such_table', key: ['id'] } });
      const acts = createActivities({ config: () => cfg, env: { API_URL: url, API_TOKEN: TOKEN, DST_URL: dst.url } });
      const t0 = Date.now();
      await expect(new MockActivityEnvironment().run(acts.runIntegration, { integration: 'api', mode: 'backfill' as const, runKey: 'early/no-sink' })).rejects.toThrow(/no_such_table/);
      // Not waiting for the 5 s answer (without the abort the run took 5 s). The sink can fail before the request is
      // on the wire (then it never leaves); one that reached the API was aborted, never answered.
      expect(Date.now() - t0).toBeLessThan(2_500);
      expect(asked).toBeLessThanOrEqual(1);
      await until('every request that reached the API to be aborted', async () => aborted === asked, 2_000);
    } finally {
      slow.closeAllConnections();
      await new Promise((done) => slow.close(done));
    }
  });
});
