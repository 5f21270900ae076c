import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { workflowIdFor } from '../../src/client';
import type { RunningDevServer } from '../../src/dev';
import { runCli, startCli, waitExit } from '../helpers/cli';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { startDeliveryFake } from '../sinks/fakes/delivery-fake';

const ROWS = 60_000;
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('term_src'), createTestDatabase('term_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  cwd = mkdtempSync(join(tmpdir(), 'tm-term-'));
  // A throttle keeps the backfill running long enough to stop it in the middle.
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    'integrations:\n  - id: orders\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.orders, key: [id], create: true}\n    batchSize: 2000\n    rateLimit: 20000\n',
  );
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: 'e2e-term', SRC_URL: src.url, DST_URL: dst.url };
});
afterAll(async () => {
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

const count = async () => Number((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders').catch(() => [{ n: '0' }]))[0]!.n);
const READY = /tidemark worker: 1 integration/;

describe('graceful shutdown', () => {
  it('SIGTERM mid-backfill: the page in flight commits whole, the worker exits, a new worker finishes from the checkpoint', async () => {
    const first = await startCli(['worker'], env, READY, cwd);
    expect((await runCli(['backfill', 'orders'], env, cwd)).code).toBe(0);
    while ((await count()) < 10_000) await sleep(20);
    first.child.kill('SIGTERM');
    await waitExit(first.child);
    expect(first.child.exitCode).toBe(0);
    expect(first.output()).toMatch(/tidemark worker: stopped/);
    const atStop = await count();
    const [cp] = await sql<{ rows_done: string }>(dst.url, `SELECT rows_done::text FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(Number(cp!.rows_done)).toBe(atStop); // no half page: checkpoint and target agree
    expect(atStop % 2000).toBe(0);
    expect(atStop).toBeLessThan(ROWS);

    const second = await startCli(['worker'], env, READY, cwd);
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const r = (await client.workflow.getHandle(workflowIdFor('orders')).result()) as RunResult;
      expect(r).toMatchObject({ rows: ROWS, done: true });
      expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
      const [run] = await sql<{ attempts: string; rows_read: string; rows_committed: string }>(dst.url, `SELECT attempts::text, rows_read::text, rows_committed::text FROM tidemark.runs`);
      expect(run!.attempts).toBe('2');
      expect(Number(run!.rows_read) - Number(run!.rows_committed)).toBeLessThanOrEqual(2000);
    } finally {
      await client.connection.close();
      second.child.kill('SIGTERM');
      await waitExit(second.child);
    }
  });

  it('SIGTERM while the page in flight is blocked (the target locked): given up after TIDEMARK_WORKER_STOP_SECONDS, exit 1 saying so; the next worker finishes exactly', async () => {
    // An acceptance run: a lock held for 60 s held the stop for 55 s, and one held for hours would hold it for hours.
    await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
    const stopEnv = { ...env, TIDEMARK_TASK_QUEUE: 'e2e-term-stop', TIDEMARK_WORKER_STOP_SECONDS: '3' };
    const first = await startCli(['worker'], stopEnv, READY, cwd);
    const locker = new pg.Client({ connectionString: dst.url });
    try {
      expect((await runCli(['backfill', 'orders'], stopEnv, cwd)).code).toBe(0);
      while ((await count()) < 4_000) await sleep(20);
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE copy.orders IN ACCESS EXCLUSIVE MODE');
      await sleep(500); // the next page is now blocked on the lock
      const t = Date.now();
      first.child.kill('SIGTERM');
      await waitExit(first.child);
      // Held by nothing but the 3 s bound and the shutdown (up to ~25 s on a loaded 2-core machine); the lock is never released.
      expect(Date.now() - t).toBeLessThan(45_000);
      expect(first.child.exitCode).toBe(1);
      expect(first.output()).toContain('tidemark worker: the page in flight did not finish within 3 s of the stop');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end().catch(() => undefined);
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
    }
    const second = await startCli(['worker'], stopEnv, READY, cwd);
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const r = (await client.workflow.getHandle(workflowIdFor('orders')).result()) as RunResult;
      expect(r).toMatchObject({ rows: ROWS, done: true });
      expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    } finally {
      await client.connection.close();
      second.child.kill('SIGTERM');
      await waitExit(second.child);
    }
  }, 240_000);

  it('SIGTERM while an HTTP sink delivers a page: the page finishes and commits, nothing is sent twice (an API that ignores idempotency keys)', async () => {
    // Found by an acceptance run: the shutdown aborted the page's requests, and the next attempt sent them again.
    const api = await startDeliveryFake({ latencyMs: 15, honourKeys: false });
    const N = 2_000;
    await sql(src.url, `DROP TABLE IF EXISTS public.orders_api; CREATE TABLE public.orders_api AS SELECT * FROM public.orders ORDER BY id LIMIT ${N}; ALTER TABLE public.orders_api ADD PRIMARY KEY (id); CREATE INDEX ON public.orders_api (updated_at, id)`);
    const apiCwd = mkdtempSync(join(tmpdir(), 'tm-term-api-'));
    writeFileSync(
      join(apiCwd, 'tidemark.yaml'),
      'integrations:\n  - id: toapi\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders_api, cursor: [updated_at, id]}\n' +
        '    sink: {kind: http, url: "${API_URL}/items", key: [id], concurrency: 4, stateUrl: "${DST_URL}"}\n    batchSize: 200\n',
    );
    const apiEnv = { ...env, TIDEMARK_TASK_QUEUE: 'e2e-term-api', API_URL: api.url };
    const first = await startCli(['worker'], apiEnv, READY, apiCwd);
    try {
      expect((await runCli(['backfill', 'toapi'], apiEnv, apiCwd)).code).toBe(0);
      // Mid-page: past two pages, not on a page's end.
      while (api.writes.size < 450 || api.writes.size % 200 === 0) await sleep(5);
      first.child.kill('SIGTERM');
      await waitExit(first.child);
      expect(first.child.exitCode).toBe(0);
      const delivered = api.writes.size;
      const [cp] = await sql<{ rows_done: string }>(dst.url, `SELECT rows_done::text FROM tidemark.checkpoints WHERE integration = 'toapi'`);
      expect(Number(cp!.rows_done)).toBe(delivered); // the page in flight committed whole, with its checkpoint
      expect(delivered % 200).toBe(0);
      const second = await startCli(['worker'], apiEnv, READY, apiCwd);
      const client = new Client({ connection: await Connection.connect({ address: server.address }) });
      try {
        const r = (await client.workflow.getHandle(workflowIdFor('toapi')).result()) as RunResult;
        expect(r).toMatchObject({ done: true });
        expect(api.writes.size).toBe(N);
        expect([...api.writes.values()].filter((n) => n > 1)).toEqual([]); // every record sent once
      } finally {
        await client.connection.close();
        second.child.kill('SIGTERM');
        await waitExit(second.child);
      }
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      await api.close();
    }
  }, 240_000);
});
