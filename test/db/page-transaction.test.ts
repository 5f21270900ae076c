import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import type { Config } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { finishRun, listRuns, readRun, startRun } from '../../src/db/state';
import { sleep } from '../../src/util/sleep';
import { digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
const ROWS = 5_000;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('pagetx_src'), createTestDatabase('pagetx_dst')]);
  await seedOrders(src.url, { rows: ROWS });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE; DROP TABLE IF EXISTS public.audit');
  const c = new pg.Client({ connectionString: dst.url });
  await c.connect();
  await migrate(c).finally(() => c.end());
});

function activities(config: Config, extra: Partial<Parameters<typeof createActivities>[0]> = {}) {
  return createActivities({ config: () => config, env: { SRC_URL: src.url, DST_URL: dst.url }, ...extra });
}

/** Every UPDATE of the state tables, with the transaction it ran in (a trigger: the database tells, not the code). */
async function auditStateUpdates(): Promise<void> {
  await sql(
    dst.url,
    `CREATE TABLE public.audit (seq bigserial, tbl text, xid text, rows_read bigint, rows_committed bigint);
     CREATE OR REPLACE FUNCTION public.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.audit (tbl, xid, rows_read, rows_committed)
       VALUES (TG_TABLE_NAME, pg_current_xact_id()::text, (to_jsonb(NEW)->>'rows_read')::bigint, (to_jsonb(NEW)->>'rows_committed')::bigint);
       RETURN NEW;
     END $$;
     CREATE TRIGGER audit AFTER UPDATE ON tidemark.runs FOR EACH ROW EXECUTE FUNCTION public.audit_row();
     CREATE TRIGGER audit AFTER UPDATE ON tidemark.checkpoints FOR EACH ROW EXECUTE FUNCTION public.audit_row();`,
  );
}

describe('one transaction per page: the rows, the checkpoint and the run counters', () => {
  it('each page updates the run row once, in the transaction that writes its rows; rows_read has no statement of its own', async () => {
    await auditStateUpdates();
    const env = new MockActivityEnvironment();
    const r = (await env.run(activities(ordersConfig()).runIntegration, { integration: 'orders', mode: 'backfill', runKey: 'tx/1' } satisfies RunInput)) as RunResult;
    expect(r).toMatchObject({ rows: ROWS, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));

    // The transactions that wrote target rows: one per page (1,000 rows each).
    const pageTx = await sql<{ x: string; n: string }>(dst.url, 'SELECT xmin::text AS x, count(*)::text AS n FROM copy.orders GROUP BY 1');
    expect(pageTx.map((p) => p.n)).toEqual(Array(5).fill('1000'));
    const audit = await sql<{ tbl: string; xid: string; rows_read: string | null; rows_committed: string | null }>(
      dst.url,
      'SELECT tbl, xid, rows_read::text, rows_committed::text FROM public.audit ORDER BY seq',
    );
    const pages = new Set(pageTx.map((p) => p.x));
    for (const x of pages) {
      expect(audit.filter((a) => a.xid === x).map((a) => a.tbl).sort(), `transaction ${x}`).toEqual(['checkpoints', 'runs']);
    }
    // Outside the page transactions, the run's row is only finished: its counters never move there.
    const runUpdates = audit.filter((a) => a.tbl === 'runs');
    const counted = runUpdates.filter((a) => pages.has(a.xid));
    expect(counted.map((a) => a.rows_committed)).toEqual(['1000', '2000', '3000', '4000', '5000']);
    // rows_read counts what was read by then: the page, and the next one when its read (overlapping the write) had finished.
    for (const a of counted) expect([Number(a.rows_committed), Math.min(Number(a.rows_committed) + 1000, ROWS)]).toContain(Number(a.rows_read));
    for (const a of runUpdates.filter((u) => !pages.has(u.xid))) expect([a.rows_read, a.rows_committed]).toEqual([String(ROWS), String(ROWS)]);
  });

  it("shards commit pages while another session holds the run's row: their counters are their own, rolled up when they stop", async () => {
    const acts = activities(ordersConfig({}, { batchSize: 250 }), { afterBatch: () => sleep(40) });
    const runKey = 'tx/shards';
    const plan = await new MockActivityEnvironment().run(acts.planBackfill, { integration: 'orders', runKey, shards: 2, resume: false });
    expect(plan).toMatchObject({ sharded: true, total: 2 });
    const shard = (i: number) => new MockActivityEnvironment().run(acts.runIntegration, { integration: 'orders', mode: 'backfill', runKey, shard: i, shards: 2 } satisfies RunInput);
    const committed = async () => Number((await sql<{ n: string }>(dst.url, `SELECT coalesce(sum(rows_done), 0)::text AS n FROM tidemark.checkpoints WHERE slot LIKE 'backfill/%'`))[0]!.n);

    const holder = new pg.Client({ connectionString: dst.url });
    await holder.connect();
    try {
      // Shard 0 first: it creates the target (two shards creating it at once would race; a worker retries that).
      const first = shard(0);
      first.catch(() => undefined);
      await until(async () => (await committed()) > 0, 'a first page');
      const running = Promise.all([first, shard(1)]);
      running.catch(() => undefined);
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM tidemark.runs WHERE run_id = $1 FOR UPDATE', [runKey]);
      const before = await committed();
      // With the run's row locked, pages keep committing (each shard counts on its own row).
      await until(async () => (await committed()) >= before + 6 * 250, 'six more pages committed while the run row is locked');
      const reader = new pg.Client({ connectionString: dst.url });
      await reader.connect();
      try {
        // readRun adds what the shards have not rolled up yet: it agrees with the checkpoints at any moment.
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        const run = await readRun(reader, runKey);
        const [cp] = await reader.query<{ n: string }>(`SELECT sum(rows_done)::text AS n FROM tidemark.checkpoints WHERE slot LIKE 'backfill/%'`).then((q) => q.rows);
        expect(run?.rows_committed).toBe(cp?.n);
        await reader.query('COMMIT');
      } finally {
        await reader.end();
      }
      await holder.query('COMMIT');
      const results = await running;
      expect((results as RunResult[]).reduce((n, x) => n + x.rows, 0)).toBe(ROWS);
    } finally {
      await holder.end();
    }
    const finish = (await new MockActivityEnvironment().run(acts.finishBackfill, { integration: 'orders', runKey })) as RunResult;
    expect(finish).toMatchObject({ rows: ROWS, done: true });
    // Rolled up: tidemark.runs itself holds the totals, nothing is left per shard.
    const [row] = await sql(dst.url, `SELECT rows_read::text, rows_committed::text, rows_written::text, pages::text, status FROM tidemark.runs WHERE run_id = $1`, [runKey]);
    expect(row).toEqual({ rows_read: String(ROWS), rows_committed: String(ROWS), rows_written: String(ROWS), pages: String(ROWS / 250), status: 'completed' });
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM tidemark.run_shards')).toEqual([{ n: '0' }]);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('a retried shard counts its attempt on the run row (an acceptance run: a sharded run read 1 attempt after a worker was killed)', async () => {
    const acts = activities(ordersConfig({}, { batchSize: 1000 }));
    const runKey = 'tx/shard-attempts';
    await new MockActivityEnvironment().run(acts.planBackfill, { integration: 'orders', runKey, shards: 2, resume: false });
    const shard = (i: number, attempt: number) => new MockActivityEnvironment({ attempt }).run(acts.runIntegration, { integration: 'orders', mode: 'backfill', runKey, shard: i, shards: 2 } satisfies RunInput);
    await shard(0, 1);
    const attempts = async () => (await sql<{ a: string }>(dst.url, `SELECT attempts::text AS a FROM tidemark.runs WHERE run_id = $1`, [runKey]))[0]?.a;
    expect(await attempts()).toBe('1');
    await shard(1, 3);
    expect(await attempts()).toBe('3');
    // A later first attempt (a shard that had not started) does not lower it.
    await shard(1, 1);
    expect(await attempts()).toBe('3');
    expect(await new MockActivityEnvironment().run(acts.finishBackfill, { integration: 'orders', runKey })).toMatchObject({ rows: ROWS, done: true });
    expect(await attempts()).toBe('3');
  });

  it("a shard that died leaves its counters on its own row: readRun counts them, finishing the run rolls them up", async () => {
    const c = new pg.Client({ connectionString: dst.url });
    await c.connect();
    try {
      await startRun(c, 'tx/dead', 'orders', 'backfill', null);
      await sql(dst.url, `UPDATE tidemark.runs SET rows_read = 100, rows_committed = 100, rows_written = 100, pages = 1 WHERE run_id = 'tx/dead'`);
      await sql(
        dst.url,
        `INSERT INTO tidemark.run_shards (run_id, shard, rows_read, rows_committed, rows_written, rows_rejected, pages, end_cursor)
         VALUES ('tx/dead', 0, 300, 250, 240, 10, 2, '["b"]'), ('tx/dead', 1, 50, 50, 50, 0, 1, '["a"]')`,
      );
      const live = await readRun(c, 'tx/dead');
      expect(live).toMatchObject({ rows_read: '450', rows_committed: '400', rows_written: '390', rows_rejected: '10', pages: '4', status: 'running' });
      expect((await listRuns(c, 'orders', 5)).find((r) => r.run_id === 'tx/dead')).toMatchObject({ rows_read: '450', rows_committed: '400', pages: '4' });
      await finishRun(c, 'tx/dead', 'partial');
      const [row] = await sql(dst.url, `SELECT rows_read::text, rows_committed::text, rows_written::text, rows_rejected::text, pages::text, status FROM tidemark.runs WHERE run_id = 'tx/dead'`);
      expect(row).toEqual({ rows_read: '450', rows_committed: '400', rows_written: '390', rows_rejected: '10', pages: '4', status: 'partial' });
      expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM tidemark.run_shards')).toEqual([{ n: '0' }]);
      expect(await readRun(c, 'tx/dead')).toMatchObject({ rows_read: '450', rows_committed: '400' });
    } finally {
      await c.end();
    }
  });
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
