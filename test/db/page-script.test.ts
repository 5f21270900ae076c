import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput } from '../../src/activities';
import { migrate } from '../../src/db/migrate';
import * as state from '../../src/db/state';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * A page with nothing but rows goes to PostgreSQL as one script (BEGIN; COPY …; checkpoint and counters;
 * COMMIT) — one round trip (issue 16). What must still hold: the rows and their checkpoint commit
 * together, a run that lost its slot commits nothing, a page whose keys are already there falls back to
 * the upsert, and the connection is clean after a failure.
 */
let src: TestDatabase;
let dst: TestDatabase;
let client: pg.Client;
const COLUMNS = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'v', type: 'text', notNull: false },
];

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('pagescript_src'), createTestDatabase('pagescript_dst')]);
  await seedOrders(src.url, { rows: 3_000 });
  client = new pg.Client({ connectionString: dst.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await client.query('DROP SCHEMA IF EXISTS tidemark CASCADE; DROP TABLE IF EXISTS public.t, public.seen; DROP FUNCTION IF EXISTS public.seen_row');
  await migrate(client);
  await client.query('CREATE TABLE public.t (id bigint PRIMARY KEY, v text)');
  await state.claimCheckpoint(client, { integration: 'i', slot: 'backfill', owner: 'run/1', cursor: null, highWater: null, reset: true });
  await state.startRun(client, 'run/1', 'i', 'backfill', null);
});

const page = (from: number, to: number) => Buffer.from(Array.from({ length: to - from + 1 }, (_, k) => `${from + k}\tv${from + k}\n`).join(''));
const record = (cursor: number, rows: number, written: number, lazyCommit = false): state.PageRecord => ({ integration: 'i', slot: 'backfill', runId: 'run/1', cursor: [cursor], rows, written, rejected: 0, read: rows, lazyCommit });

/** Counts the statements the client sends (each client.query is one round trip). */
function countQueries(c: pg.Client): { n: number; stop: () => void } {
  const original = c.query.bind(c) as (...a: unknown[]) => unknown;
  const counter = { n: 0, stop: () => Object.assign(c, { query: original }) };
  Object.assign(c, { query: (...a: unknown[]) => (counter.n++, original(...a)) });
  return counter;
}

describe('a page as one script', () => {
  it('rows, checkpoint and counters commit in one transaction, in one round trip into an empty target', async () => {
    const sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: 'public.t', key: ['id'], create: false } as never);
    await sink.prepare(COLUMNS);
    // What the page's transaction ran with, as the database saw it (the test cluster runs with it off: the session turns it on).
    await client.query(`SET synchronous_commit = on; CREATE TABLE public.seen (setting text);
      CREATE FUNCTION public.seen_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.seen VALUES (current_setting('synchronous_commit')); RETURN NEW; END $$;
      CREATE TRIGGER seen AFTER UPDATE ON tidemark.checkpoints FOR EACH ROW EXECUTE FUNCTION public.seen_row()`);
    const counter = countQueries(client);
    const res = await sink.writeCopy(page(1, 500), 500, { sql: (r) => state.recordPageScript(record(500, 500, r.written, true)) });
    counter.stop();
    expect(res).toEqual({ written: 500 });
    expect(counter.n).toBe(1);
    const [rows] = await sql<{ n: string; xids: string }>(dst.url, 'SELECT count(*)::text AS n, count(DISTINCT xmin::text)::text AS xids FROM public.t');
    expect(rows).toEqual({ n: '500', xids: '1' });
    const [cp] = await sql<{ cursor: unknown; same: boolean }>(dst.url, `SELECT cursor, xmin = (SELECT xmin FROM public.t LIMIT 1) AS same FROM tidemark.checkpoints WHERE integration = 'i'`);
    expect(cp).toEqual({ cursor: [500], same: true });
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '500', rows_written: '500', pages: '1' });
    // The lazy commit was this transaction's own: the session's setting is untouched.
    expect(await sql(dst.url, 'SELECT setting FROM public.seen')).toEqual([{ setting: 'off' }]);
    expect((await client.query('SHOW synchronous_commit')).rows[0]).toEqual({ synchronous_commit: 'on' });
    await client.query('DROP TABLE public.seen; DROP TRIGGER seen ON tidemark.checkpoints; RESET synchronous_commit');
  });

  it('cursor values with quotes, backslashes and non-ASCII text reach the checkpoint exactly (the script holds them as literals)', async () => {
    const cursor = ["it's \\ a \"test\" \n ünï €", '2026-11-30 10:00:00.123456+00', 42, null];
    const sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: 'public.t', key: ['id'], create: false } as never);
    await sink.prepare(COLUMNS);
    await sink.writeCopy(page(1, 3), 3, { sql: (r) => state.recordPageScript({ ...record(0, 3, r.written), cursor }) });
    const [cp] = await sql<{ cursor: unknown }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'i'`);
    expect(cp!.cursor).toEqual(cursor);
  });

  it('a page whose keys are already there fails its script, rolls back whole and goes through the upsert (checkpoint with the COMMIT)', async () => {
    const sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: 'public.t', key: ['id'], create: false } as never);
    await sink.prepare(COLUMNS);
    await sink.writeCopy(page(1, 100), 100, { sql: (r) => state.recordPageScript(record(100, 100, r.written)) });
    const counter = countQueries(client);
    // Rows 51..150: half already there, unchanged.
    const res = await sink.writeCopy(page(51, 150), 100, { sql: (r) => state.recordPageScript(record(150, 100, r.written)) });
    counter.stop();
    expect(res.written).toBe(50); // rows 51..100 are there with the same values: not rewritten
    expect(sink.directLoad).toBe(false);
    // The failed script, its ROLLBACK, then BEGIN+COPY, the upsert, checkpoint+COMMIT.
    expect(counter.n).toBe(5);
    expect((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM public.t'))[0]!.n).toBe('150');
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '200', rows_written: '150', pages: '2' });
  });

  it('a run that lost its slot commits nothing: the script stops before its COMMIT (TMOWN → LostOwnershipError); the connection is clean', async () => {
    const sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: 'public.t', key: ['id'], create: false } as never);
    await sink.prepare(COLUMNS);
    await sql(dst.url, `UPDATE tidemark.checkpoints SET owner = 'run/2' WHERE integration = 'i'`);
    const err = await sink.writeCopy(page(1, 100), 100, { sql: (r) => state.recordPageScript(record(100, 100, r.written)) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TMOWN' });
    expect(state.ownershipLost(err, { integration: 'i', slot: 'backfill', runId: 'run/1' })).toBeInstanceOf(state.LostOwnershipError);
    expect((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM public.t'))[0]!.n).toBe('0');
    expect((client as unknown as { _txStatus: string })._txStatus).toBe('I');
    // The same through the staged path (the COMMIT's script).
    await sql(dst.url, 'INSERT INTO public.t VALUES (1, $1)', ['x']);
    await expect(sink.writeCopy(page(1, 100), 100, { sql: (r) => state.recordPageScript(record(100, 100, r.written)) })).rejects.toMatchObject({ code: 'TMOWN' });
    expect((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM public.t'))[0]!.n).toBe('1');
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '0', pages: '0' });
  });

  it('end to end: a run whose slot another run takes after its second page fails non-retryable, and writes nothing after', async () => {
    await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE');
    const acts = createActivities({
      config: () => ordersConfig(),
      env: { SRC_URL: src.url, DST_URL: dst.url },
      afterBatch: async ({ pages }) => {
        if (pages === 2) await sql(dst.url, `UPDATE tidemark.checkpoints SET owner = 'someone-else' WHERE integration = 'orders'`);
      },
    });
    const input: RunInput = { integration: 'orders', mode: 'backfill', runKey: 'taken/1' };
    const err = await new MockActivityEnvironment().run(acts.runIntegration, input).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'LostOwnershipError', nonRetryable: true });
    expect((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders'))[0]!.n).toBe('2000');
    const [cp] = await sql<{ cursor: unknown[] }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'orders'`);
    const [last] = await sql<{ id: string }>(dst.url, 'SELECT max(id)::text AS id FROM copy.orders');
    expect(String(cp!.cursor[cp!.cursor.length - 1])).toBe(last!.id);
    expect((await digest(dst.url, 'copy.orders')).count).toBe(2000);
  });
});
