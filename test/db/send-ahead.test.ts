import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { migrate } from '../../src/db/migrate';
import { evictStaleAttempt, lockTag, tryLockIntegration } from '../../src/db/state/integration-lock';
import * as state from '../../src/db/state';
import { closeQuietly, connect } from '../../src/pg/connect';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { replaceBlockers } from '../../src/sinks/replace-rows';
import { digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * Pages of a direct load sent ahead (issue 16): page k+1 goes on the sink's second connection while page k
 * is still being written on the first. What must hold: a page commits only after the page before it, and
 * not at all when that one rolls back; its checkpoint and counters are its own; a run that stops or fails
 * in the middle resumes exactly; the connections are clean after a failure.
 */
let src: TestDatabase;
let dst: TestDatabase;
let client: pg.Client;
let sink: PostgresSink;
const ROWS = 3_000;
const COLUMNS = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'v', type: 'text', notNull: false },
];

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('ahead_src'), createTestDatabase('ahead_dst')]);
  await seedOrders(src.url, { rows: ROWS });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

const page = (from: number, to: number) => Buffer.from(Array.from({ length: to - from + 1 }, (_, k) => `${from + k}\tv${from + k}\n`).join(''));
const record = (cursor: number, rows: number, after?: number): state.PageRecord => ({
  integration: 'i',
  slot: 'backfill',
  runId: 'run/1',
  cursor: [cursor],
  rows,
  written: rows,
  rejected: 0,
  read: rows,
  ...(after !== undefined ? { after: [after] } : {}),
});
/** Resolves when `p` settles, or after `ms`: which one came first. */
const settledWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('pending'), ms))]);
/** A gate a page's transaction waits at (holding its checkpoint row), until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  return { wait: new Promise<void>((r) => (open = r)), open };
}

/**
 * A page written the usual way, its transaction held open at a gate once it holds its checkpoint row (on a loaded
 * machine a page sent ahead earlier could reach its fence first, fail it and simply be written again: the loop's
 * case, not these tests'); opening the gate commits it, or fails it with `failure`.
 */
async function pageHeld(data: Buffer, rec: state.PageRecord, failure?: Error): Promise<{ write: Promise<unknown>; held: { open: () => void } }> {
  const [held, reached] = [gate(), gate()];
  const write = sink.writeCopy(data, rec.rows, async (tx) => {
    await state.recordPage(tx, rec);
    reached.open();
    await held.wait;
    if (failure) throw failure;
  });
  write.catch(() => undefined);
  await reached.wait;
  return { write, held };
}

/** Page 1 (ids 1-500) held (see pageHeld). */
const firstPageHeld = async (failure?: Error) => {
  const { write, held } = await pageHeld(page(1, 500), record(500, 500), failure);
  return { first: write, held };
};

describe('PostgresSink.sendAhead', () => {
  beforeEach(async () => {
    client = await connect(dst.url, { applicationName: 'ahead-test' });
    await client.query('DROP SCHEMA IF EXISTS tidemark CASCADE; DROP TABLE IF EXISTS public.t');
    await migrate(client);
    await client.query('CREATE TABLE public.t (id bigint PRIMARY KEY, v text)');
    await state.claimCheckpoint(client, { integration: 'i', slot: 'backfill', owner: 'run/1', cursor: null, highWater: null, reset: true });
    await state.startRun(client, 'run/1', 'i', 'backfill', null);
    sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: 'public.t', key: ['id'], create: false } as never);
    await sink.prepare(COLUMNS);
    expect(await sink.openSecondConnection()).toBe(true);
  });
  afterEach(async () => {
    sink.close();
    await closeQuietly(client);
  });

  it('opens its second connection like the first (same application name, so evicting a stale attempt ends both)', async () => {
    const r = await sql<{ n: string }>(dst.url, `SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = 'ahead-test'`);
    expect(r).toEqual([{ n: '2' }]);
  });

  it("a retry that evicts a hung attempt ends both of its sessions, so no page of the hung one can still go ahead", async () => {
    const tag = lockTag('run/hung', 1);
    const hung = await connect(dst.url, { applicationName: tag });
    const hungSink = new PostgresSink(hung, { kind: 'postgres', url: dst.url, table: 'public.t', key: ['id'], create: false } as never);
    try {
      expect(await tryLockIntegration(hung, 'hung')).toBe(true);
      expect(await hungSink.openSecondConnection()).toBe(true);
      const count = async () => (await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = $1', [tag]))[0]!.n;
      expect(await count()).toBe('2');
      expect(await evictStaleAttempt(client, 'hung', 'run/hung', 2)).toBe(true);
      await vi.waitFor(async () => expect(await count()).toBe('0'), { timeout: 2_000 });
    } finally {
      hungSink.close();
      await closeQuietly(hung);
    }
  });

  it('a page sent ahead commits only after the page before it, with its own checkpoint and counters', async () => {
    const { first, held } = await firstPageHeld();
    const second = sink.sendAhead(page(501, 1000), 500, { sql: () => state.recordPageScript(record(1000, 500, 500)) });
    expect(second).toBeDefined();
    // Page 2's rows are in, but it waits for page 1's transaction: nothing of either is visible yet.
    expect(await settledWithin(second!, 400)).toBe('pending');
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.t')).toEqual([{ n: '0' }]);
    held.open();
    expect(await first).toEqual({ written: 500 });
    expect(await second).toEqual({ written: 500 });
    expect(await digest(dst.url, 'public.t')).toMatchObject({ count: 1000 });
    const [cp] = await sql<{ cursor: unknown }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'i'`);
    expect(cp).toEqual({ cursor: [1000] });
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '1000', rows_written: '1000', pages: '2' });
    // Page 2 committed after page 1: a later transaction (its rows' xmin) than page 1's.
    const [x] = await sql<{ later: boolean }>(dst.url, `SELECT (SELECT xmin::text::bigint FROM public.t WHERE id = 1000) > (SELECT xmin::text::bigint FROM public.t WHERE id = 1) AS later`);
    expect(x).toEqual({ later: true });
  });

  it('a page sent ahead rolls back when the page before it does, and both connections are at once usable', async () => {
    const { first, held } = await firstPageHeld(new Error('page 1 fails after its checkpoint'));
    const second = sink.sendAhead(page(501, 1000), 500, { sql: () => state.recordPageScript(record(1000, 500, 500)) })!;
    second.catch(() => undefined);
    expect(await settledWithin(second, 300)).toBe('pending');
    held.open();
    await expect(first).rejects.toThrow('page 1 fails after its checkpoint');
    // Fenced on page 1's cursor, which never committed: the checkpoint statement raises and the page rolls back.
    await expect(second).rejects.toMatchObject({ code: 'TMOWN' });
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.t')).toEqual([{ n: '0' }]);
    const [cp] = await sql<{ cursor: unknown }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'i'`);
    expect(cp).toEqual({ cursor: null });
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '0', pages: '0' });
    // Written again, both go through: page 1 the usual way, page 2 ahead again (now on the other connection).
    await sink.writeCopy(page(1, 500), 500, { sql: () => state.recordPageScript(record(500, 500)) });
    await sink.sendAhead(page(501, 1000), 500, { sql: () => state.recordPageScript(record(1000, 500, 500)) });
    await sink.sendAhead(page(1001, 1200), 200, { sql: () => state.recordPageScript(record(1200, 200, 1000)) });
    expect(await digest(dst.url, 'public.t')).toMatchObject({ count: 1200 });
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '1200', pages: '3' });
  });

  it('a page the target refuses fails on its own (the server error, not a stuck transaction), and is not sent ahead once pages are upserted', async () => {
    await sink.writeCopy(page(1, 10), 10, { sql: () => state.recordPageScript(record(10, 10)) });
    // Keys 5..14 overlap: a unique violation rolls the page back whole (it went on the second connection).
    const refused = sink.sendAhead(page(5, 14), 10, { sql: () => state.recordPageScript(record(14, 10, 10)) })!;
    await expect(refused).rejects.toMatchObject({ code: '23505' });
    // Both connections take the next page at once (no transaction left open to roll back first).
    await sink.sendAhead(page(11, 20), 10, { sql: () => state.recordPageScript(record(20, 10, 10)) });
    await sink.sendAhead(page(21, 30), 10, { sql: () => state.recordPageScript(record(30, 10, 20)) });
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '30', pages: '3' });
    // The usual write finds a conflict too and moves to the upsert: nothing goes ahead from then on.
    await sink.writeCopy(page(25, 34), 10, { sql: () => state.recordPageScript(record(34, 10)) });
    expect(sink.directLoad).toBe(false);
    expect(sink.sendAhead(page(35, 40), 6, { sql: () => state.recordPageScript(record(40, 6, 34)) })).toBeUndefined();
    expect(await digest(dst.url, 'public.t')).toMatchObject({ count: 34 });
  });

  it("a lazy page sent ahead commits without the flush wait, and the setting stays the transaction's", async () => {
    // At COMMIT (a deferred constraint trigger), what the transaction ran with.
    await client.query(`SET synchronous_commit = on; CREATE TABLE public.seen (setting text);
      CREATE FUNCTION public.seen_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.seen VALUES (current_setting('synchronous_commit')); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER seen AFTER UPDATE ON tidemark.checkpoints DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.seen_commit()`);
    try {
      await sink.writeCopy(page(1, 10), 10, { sql: () => state.recordPageScript(record(10, 10)) });
      await sink.sendAhead(page(11, 20), 10, { sql: () => state.recordPageScript({ ...record(20, 10, 10), lazyCommit: true }) });
      await sink.sendAhead(page(21, 30), 10, { sql: () => state.recordPageScript(record(30, 10, 20)) });
      expect(await sql(dst.url, 'SELECT setting FROM public.seen')).toEqual([{ setting: 'on' }, { setting: 'off' }, { setting: 'on' }]);
    } finally {
      await client.query('DROP TRIGGER seen ON tidemark.checkpoints; DROP TABLE public.seen; DROP FUNCTION public.seen_commit(); RESET synchronous_commit');
    }
  });
});

describe('PostgresSink.sendAhead of replaced pages (a re-sync of changed rows)', () => {
  /** Rows `from`..`to` with values other than page()'s: every one a change. */
  const changed = (from: number, to: number) => Buffer.from(Array.from({ length: to - from + 1 }, (_, k) => `${from + k}\tw${from + k}\n`).join(''));
  const tx = (cursor: number, rows: number, after?: number) => ({ sql: () => state.recordPageScript(record(cursor, rows, after)) });

  beforeEach(async () => {
    client = await connect(dst.url, { applicationName: 'ahead-test' });
    await client.query('DROP SCHEMA IF EXISTS tidemark CASCADE; DROP TABLE IF EXISTS public.t');
    await migrate(client);
    await client.query(`CREATE TABLE public.t (id bigint PRIMARY KEY, v text); INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, 2000) g`);
    await state.claimCheckpoint(client, { integration: 'i', slot: 'backfill', owner: 'run/1', cursor: null, highWater: null, reset: true });
    await state.startRun(client, 'run/1', 'i', 'backfill', null);
  });
  afterEach(async () => {
    sink.close();
    await closeQuietly(client);
  });

  /** A sink whose first page (ids 1-500, all changed) went through the staged upsert: the next pages are replaced. */
  async function replacingSink(): Promise<void> {
    sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: 'public.t', key: ['id'], create: false } as never);
    await sink.prepare(COLUMNS);
    expect(await sink.openSecondConnection()).toBe(true);
    expect(await sink.writeCopy(changed(1, 500), 500, tx(500, 500))).toEqual({ written: 500 });
    expect(sink.directLoad).toBe(false);
    expect(sink.sendsAhead).toBe(false); // no replaced page being written yet
  }

  /** Page 2 (ids 501-1000, all changed) replaced and held (see pageHeld). */
  async function replacedPageHeld(failure?: Error): Promise<{ second: Promise<unknown>; held: { open: () => void } }> {
    const { write, held } = await pageHeld(changed(501, 1000), record(1000, 500, 500), failure);
    return { second: write, held };
  }

  it('a replaced page goes ahead of the one being replaced and commits after it, its old rows deleted and the new in', async () => {
    await replacingSink();
    const { second, held } = await replacedPageHeld();
    expect(sink.sendsAhead).toBe(true);
    const third = sink.sendAhead(changed(1001, 1500), 500, tx(1500, 500, 1000));
    expect(third).toBeDefined();
    expect(await settledWithin(third!, 400)).toBe('pending');
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM public.t WHERE v LIKE 'w%'`)).toEqual([{ n: '500' }]);
    held.open();
    expect(await second).toEqual({ written: 500 });
    expect(await third).toEqual({ written: 500 });
    expect(await sql(dst.url, `SELECT count(*)::text AS n, count(*) FILTER (WHERE v = 'w' || id)::text AS w FROM public.t`)).toEqual([{ n: '2000', w: '1500' }]);
    const [x] = await sql<{ later: boolean }>(dst.url, `SELECT (SELECT xmin::text::bigint FROM public.t WHERE id = 1500) > (SELECT xmin::text::bigint FROM public.t WHERE id = 1000) AS later`);
    expect(x).toEqual({ later: true });
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '1500', rows_written: '1500', pages: '3' });
  });

  it('when the page being replaced fails, the replaced page ahead of it rolls back whole: no row of either lost', async () => {
    await replacingSink();
    const { second, held } = await replacedPageHeld(new Error('page 2 fails after its checkpoint'));
    const third = sink.sendAhead(changed(1001, 1500), 500, tx(1500, 500, 1000))!;
    third.catch(() => undefined);
    held.open();
    await expect(second).rejects.toThrow('page 2 fails after its checkpoint');
    await expect(third).rejects.toMatchObject({ code: 'TMOWN' });
    // Pages 2 and 3 rolled back, their DELETEs with them: the old rows are all there.
    expect(await sql(dst.url, `SELECT count(*)::text AS n, count(*) FILTER (WHERE v = 'w' || id)::text AS w, count(*) FILTER (WHERE v = 'v' || id)::text AS v FROM public.t`)).toEqual([
      { n: '2000', w: '500', v: '1500' },
    ]);
    expect(await state.readRun(client, 'run/1')).toMatchObject({ rows_committed: '500', pages: '1' });
  });

  it('a page with a key of the page being replaced, a repeated key or a NULL key waits its turn', async () => {
    await replacingSink();
    const { second, held } = await replacedPageHeld();
    expect(sink.sendAhead(changed(1000, 1100), 101, tx(1100, 101, 1000))).toBeUndefined(); // key 1000 in both
    const repeated = Buffer.concat([changed(1001, 1010), changed(1010, 1010)]);
    expect(sink.sendAhead(repeated, 11, tx(1010, 11, 1000))).toBeUndefined();
    expect(sink.sendAhead(Buffer.concat([changed(1001, 1010), Buffer.from('\\N\tw\n')]), 11, tx(1010, 11, 1000))).toBeUndefined();
    held.open();
    await second;
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM public.t WHERE v LIKE 'w%'`)).toEqual([{ n: '1000' }]);
  });

  it('nothing goes ahead when something else in the target is unique: another unique index, a partial or expression one, an exclusion constraint', async () => {
    const cases = [
      'CREATE UNIQUE INDEX t_v ON public.t (v)',
      `CREATE UNIQUE INDEX t_v ON public.t (id) WHERE v <> ''`,
      'CREATE UNIQUE INDEX t_v ON public.t (abs(id))',
      'ALTER TABLE public.t ADD CONSTRAINT t_v EXCLUDE USING btree (v WITH =)',
    ];
    for (const ddl of cases) {
      await client.query(ddl);
      const r = await replaceBlockers(client, { schema: 'public', name: 't' }, ['id', 'v'], ['id']);
      expect(r, ddl).toEqual({ ahead: 'another unique index or an exclusion constraint' });
      await client.query(ddl.startsWith('ALTER') ? 'ALTER TABLE public.t DROP CONSTRAINT t_v' : 'DROP INDEX public.t_v');
    }
    // A second unique index on the key's own columns changes nothing.
    await client.query('CREATE UNIQUE INDEX t_id2 ON public.t (id)');
    expect(await replaceBlockers(client, { schema: 'public', name: 't' }, ['id', 'v'], ['id'])).toEqual({});
    await client.query('DROP INDEX public.t_id2; CREATE UNIQUE INDEX t_v ON public.t (v)');
    await replacingSink();
    const { second, held } = await replacedPageHeld();
    expect(sink.replaceBlocker).toBeUndefined(); // pages are still replaced, one at a time
    expect(sink.sendsAhead).toBe(false);
    expect(sink.sendAhead(changed(1001, 1500), 500, tx(1500, 500, 1000))).toBeUndefined();
    held.open();
    expect(await second).toEqual({ written: 500 });
  });
});

describe('a backfill whose pages go ahead', () => {
  beforeEach(async () => {
    await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE; DROP TABLE IF EXISTS public.commits; DROP FUNCTION IF EXISTS public.note_commit, public.disk_full, public.slow_write, public.slow_check, public.full_check');
  });

  /** Records each committed checkpoint update (which backend, which cursor) in commit order. */
  async function watchCommits(): Promise<void> {
    const c = await connect(dst.url);
    try {
      await migrate(c);
      await c.query(`CREATE TABLE public.commits (n bigserial PRIMARY KEY, pid int, cursor jsonb);
        CREATE FUNCTION public.note_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.commits (pid, cursor) VALUES (pg_backend_pid(), NEW.cursor); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER note AFTER UPDATE ON tidemark.checkpoints DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.slot = 'backfill' AND NEW.cursor IS DISTINCT FROM OLD.cursor) EXECUTE FUNCTION public.note_commit()`);
    } finally {
      await closeQuietly(c);
    }
  }

  async function run(runKey: string, afterBatch?: (info: { pages: number; attempt: number }) => Promise<void>, env = new MockActivityEnvironment()): Promise<RunResult> {
    const acts = createActivities({ config: () => ordersConfig({}, { batchSize: 100 }), env: { SRC_URL: src.url, DST_URL: dst.url }, ...(afterBatch ? { afterBatch } : {}) });
    const input: RunInput = { integration: 'orders', mode: 'backfill', runKey };
    return (await env.run(acts.runIntegration, input)) as RunResult;
  }

  /**
   * copy.orders made by a first run, then emptied (and tidemark's state with it), with each write made 20 ms
   * slower than the read of the next page: every page after the first few is read before the one ahead of it
   * is written, so it goes ahead (which pages do depends on timing otherwise).
   */
  async function slowTarget(): Promise<void> {
    await run('ahead/setup');
    await sql(dst.url, `TRUNCATE copy.orders; DROP SCHEMA tidemark CASCADE;
      CREATE FUNCTION public.slow_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$;
      CREATE TRIGGER slow_write AFTER INSERT ON copy.orders FOR EACH STATEMENT EXECUTE FUNCTION public.slow_write()`);
    await watchCommits();
  }

  it('copies every row once, commits its pages in cursor order on two connections, and counts exactly', async () => {
    await slowTarget();
    const result = await run('ahead/1');
    expect(result).toMatchObject({ done: true, rows: ROWS });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const commits = await sql<{ pid: number; cursor: [string, string] }>(dst.url, 'SELECT pid, cursor FROM public.commits ORDER BY n');
    expect(commits).toHaveLength(ROWS / 100);
    // In commit order the cursors only grow: no page committed over a gap.
    const ids = commits.map((c) => Number(c.cursor[1]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // Most pages went ahead: both of the run's connections committed pages.
    expect(new Set(commits.map((c) => c.pid)).size).toBe(2);
    expect(await sql(dst.url, `SELECT rows_read::text AS r, rows_committed::text AS c, rows_written::text AS w, pages::text AS p FROM tidemark.runs WHERE run_id = 'ahead/1'`)).toEqual([
      { r: String(ROWS), c: String(ROWS), w: String(ROWS), p: String(ROWS / 100) },
    ]);
    // The second connection is closed with the run (a backend may take a moment to go).
    await vi.waitFor(async () => expect(await sql(dst.url, `SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name LIKE 'tm:%'`)).toEqual([{ n: '0' }]), { timeout: 10_000 });
  });

  it('a page that fails with a page sent ahead of it: both roll back, and the retry resumes exactly from the checkpoint', async () => {
    // Page 8 (ids 701-800) meets a failure that is not the rows' fault (no bad-row isolation): the run fails.
    await slowTarget();
    await sql(dst.url, `CREATE FUNCTION public.disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = 750 THEN RAISE EXCEPTION 'no space left' USING ERRCODE = '53100'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER disk_full BEFORE INSERT ON copy.orders FOR EACH ROW EXECUTE FUNCTION public.disk_full()`);
    await expect(run('ahead/2', undefined, new MockActivityEnvironment({ attempt: 1 }))).rejects.toThrow('no space left');
    // Pages 1-7 committed; page 8 failed, sent ahead and again the usual way; page 9, sent ahead of it, never committed.
    const [cp] = await sql<{ cursor: [string, string]; rows_done: string }>(dst.url, `SELECT cursor, rows_done::text FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'backfill'`);
    expect(cp).toMatchObject({ rows_done: '700' });
    expect(cp!.cursor[1]).toBe('700');
    expect(await sql(dst.url, 'SELECT count(*)::text AS n, max(id)::text AS max FROM copy.orders')).toEqual([{ n: '700', max: '700' }]);
    expect(new Set((await sql<{ pid: number }>(dst.url, 'SELECT pid FROM public.commits')).map((c) => c.pid)).size).toBe(2);
    await sql(dst.url, 'DROP TRIGGER disk_full ON copy.orders');
    const result = await run('ahead/2', undefined, new MockActivityEnvironment({ attempt: 2 }));
    expect(result).toMatchObject({ done: true, rows: ROWS }); // the run's rows, both attempts
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect(await sql(dst.url, `SELECT rows_committed::text AS c FROM tidemark.runs WHERE run_id = 'ahead/2'`)).toEqual([{ c: String(ROWS) }]);
  });

  /**
   * copy.orders made by a first run, then every row of it changed (so the next backfill replaces its pages) and
   * tidemark's state dropped; each page's write made 20 ms slower by a CHECK (a trigger would stop the replacing).
   */
  async function changedTarget(): Promise<void> {
    await run('ahead/setup');
    await sql(dst.url, `UPDATE copy.orders SET status = 'old'; DROP SCHEMA tidemark CASCADE;
      CREATE FUNCTION public.slow_check(id bigint) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN IF id % 100 = 50 THEN PERFORM pg_sleep(0.02); END IF; RETURN true; END $$;
      ALTER TABLE copy.orders ADD CONSTRAINT slow CHECK (public.slow_check(id)) NOT VALID`);
    await watchCommits();
  }

  it('a re-sync of changed rows: replaced pages go ahead too; every row once, pages committed in cursor order, counted exactly', async () => {
    await changedTarget();
    expect(await run('ahead/4')).toMatchObject({ done: true, rows: ROWS });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const commits = await sql<{ pid: number; cursor: [string, string] }>(dst.url, 'SELECT pid, cursor FROM public.commits ORDER BY n');
    const ids = commits.map((c) => Number(c.cursor[1]));
    expect(ids).toEqual(Array.from({ length: ROWS / 100 }, (_, k) => (k + 1) * 100));
    expect(new Set(commits.map((c) => c.pid)).size).toBe(2);
    expect(await sql(dst.url, `SELECT rows_committed::text AS c, rows_written::text AS w, pages::text AS p FROM tidemark.runs WHERE run_id = 'ahead/4'`)).toEqual([
      { c: String(ROWS), w: String(ROWS), p: String(ROWS / 100) },
    ]);
  });

  it('a re-sync whose replaced page fails with one ahead of it: both roll back (old rows kept), and the retry resumes exactly', async () => {
    await changedTarget();
    await sql(dst.url, `CREATE FUNCTION public.full_check(id bigint) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN IF id = 750 THEN RAISE EXCEPTION 'no space left' USING ERRCODE = '53100'; END IF; RETURN true; END $$;
      ALTER TABLE copy.orders ADD CONSTRAINT full_disk CHECK (public.full_check(id)) NOT VALID`);
    await expect(run('ahead/5', undefined, new MockActivityEnvironment({ attempt: 1 }))).rejects.toThrow('no space left');
    const [cp] = await sql<{ cursor: [string, string]; rows_done: string }>(dst.url, `SELECT cursor, rows_done::text FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'backfill'`);
    expect(cp).toMatchObject({ rows_done: '700' });
    // Rows 1-700 replaced, the rest as they were (page 8's DELETE and any page's ahead of it rolled back).
    expect(await sql(dst.url, `SELECT count(*)::text AS n, count(*) FILTER (WHERE status = 'old')::text AS old, min(id) FILTER (WHERE status = 'old')::text AS first FROM copy.orders`)).toEqual([
      { n: String(ROWS), old: String(ROWS - 700), first: '701' },
    ]);
    await sql(dst.url, 'ALTER TABLE copy.orders DROP CONSTRAINT full_disk');
    expect(await run('ahead/5', undefined, new MockActivityEnvironment({ attempt: 2 }))).toMatchObject({ done: true, rows: ROWS });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect(await sql(dst.url, `SELECT rows_committed::text AS c FROM tidemark.runs WHERE run_id = 'ahead/5'`)).toEqual([{ c: String(ROWS) }]);
  });

  it('with an afterBatch hook (fault injection) no page goes ahead: a crash after page 7 leaves exactly 7 pages', async () => {
    await slowTarget();
    const crash = new Error('worker lost after page 7');
    const hook = async ({ pages }: { pages: number }) => {
      if (pages === 7) throw crash;
    };
    await expect(run('ahead/3', hook)).rejects.toBe(crash);
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.orders')).toEqual([{ n: '700' }]);
    expect(await sql(dst.url, 'SELECT count(DISTINCT pid)::text AS n FROM public.commits')).toEqual([{ n: '1' }]);
  });
});
