import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type Progress, type RunInput, type RunResult } from '../../src/activities';
import type { Config, PostgresSinkConfig } from '../../src/config';
import { lagOf } from '../../src/instances/status-all';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { digest, insertOrders, ordersConfig, seedOrders, sql } from '../helpers/fixtures';

let src: TestDatabase;
let dst: TestDatabase;
const ROWS = 5_000;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('act_src'), createTestDatabase('act_dst')]);
  await seedOrders(src.url, { rows: ROWS });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

function activities(config: Config = ordersConfig(), extra: Partial<Parameters<typeof createActivities>[0]> = {}) {
  return createActivities({ config: () => config, env: { SRC_URL: src.url, DST_URL: dst.url }, ...extra });
}

function run(input: Partial<RunInput> & { runKey: string }, env = new MockActivityEnvironment(), config?: Config, extra = {}): Promise<RunResult> {
  const full: RunInput = { integration: 'orders', mode: 'backfill', ...input };
  return env.run(activities(config, extra).runIntegration, full) as Promise<RunResult>;
}

/** xmin per target row: a changed xmin means the row was rewritten. */
async function versions(): Promise<Map<string, string>> {
  const rows = await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders');
  return new Map(rows.map((r) => [r.id, r.x]));
}

describe('runIntegration activity (real PostgreSQL)', () => {
  it('backfills everything, heartbeating progress after every batch', async () => {
    const env = new MockActivityEnvironment();
    const beats: Progress[] = [];
    env.on('heartbeat', (d: Progress) => beats.push(d));
    const r = await run({ runKey: 'wf/1' }, env);
    expect(r).toMatchObject({ rows: ROWS, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const last = beats[beats.length - 1]!;
    expect(last).toMatchObject({ rows: ROWS, pages: ROWS / 1000, total: ROWS, remaining: 0, slot: 'backfill' });
    expect(last.cursor).toEqual(r.cursor);
  });

  it('a backfill hands the sync its cursor and where it caught up to: lag is not the newest row\'s age (years for old rows)', async () => {
    expect(await run({ runKey: 'wf/lag' })).toMatchObject({ rows: ROWS, done: true });
    const [cp] = await sql<{ cursor: string[]; caught_up: string | null }>(dst.url, `SELECT cursor, caught_up FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'sync'`);
    expect(cp?.cursor[0]).toMatch(/^2024-/);
    expect(Date.now() - Date.parse(cp!.caught_up!.replace(' ', 'T').replace(/\+00$/, 'Z'))).toBeLessThan(120_000);
    expect(lagOf(cp?.cursor, Date.now(), cp?.caught_up)).toBeLessThan(120);
  });

  it('a second backfill from the start moves the sync checkpoint forward to where it ended; one from a --from does not, nor one ending before it (an acceptance run: the sync read again what it had read)', async () => {
    expect(await run({ runKey: 'wf/again1' })).toMatchObject({ rows: ROWS, done: true });
    const syncCursor = async () => (await sql<{ cursor: unknown }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'sync'`))[0]?.cursor;
    const first = await syncCursor();
    await insertOrders(src.url, ROWS + 1, ROWS + 300, { start: '2025-03-01' });
    try {
      const second = await run({ runKey: 'wf/again2' });
      expect(second).toMatchObject({ rows: ROWS + 300, done: true });
      expect(await syncCursor()).toEqual(second.cursor);
      expect(second.cursor).not.toEqual(first);
      expect(await run({ runKey: 'wf/again3', mode: 'sync' })).toMatchObject({ rows: 0, done: true });
      // From a --from, the part before it was not read by this backfill: the sync checkpoint stays where it was.
      await sql(dst.url, `UPDATE tidemark.checkpoints SET cursor = $1::jsonb WHERE integration = 'orders' AND slot = 'sync'`, [JSON.stringify(first)]);
      const partial = await run({ runKey: 'wf/again4', from: ['2024-01-01 00:08:00.000123+00', '4800'] });
      expect(partial).toMatchObject({ done: true });
      expect(await syncCursor()).toEqual(first);
      // Never backwards: a sync checkpoint past where a backfill from the start ends (syncs ran since it began) stays.
      const ahead = ['2030-01-01 00:00:00+00', '1'];
      await sql(dst.url, `UPDATE tidemark.checkpoints SET cursor = $1::jsonb WHERE integration = 'orders' AND slot = 'sync'`, [JSON.stringify(ahead)]);
      expect(await run({ runKey: 'wf/again5' })).toMatchObject({ done: true });
      expect(await syncCursor()).toEqual(ahead);
    } finally {
      await sql(src.url, `DELETE FROM public.orders WHERE id > ${ROWS}`);
    }
  });

  it('a retried attempt resumes after the heartbeat cursor and writes nothing twice', async () => {
    // Attempt 1 commits 2 batches, then its worker "dies".
    const crash = new Error('worker died');
    await expect(
      run({ runKey: 'wf/2' }, new MockActivityEnvironment(), undefined, {
        afterBatch: async ({ pages }: { pages: number }) => {
          if (pages === 2) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const before = await versions();
    expect(before.size).toBe(2000);
    const [cp] = await sql<{ cursor: string[] }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    // Attempt 2 carries the last heartbeat details, as Temporal delivers them.
    const hb: Partial<Progress> = { cursor: cp!.cursor, rows: 2000 };
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: hb });
    const r = await run({ runKey: 'wf/2' }, env);
    expect(r).toMatchObject({ rows: ROWS, done: true });
    const after = await versions();
    for (const [id, x] of before) expect(after.get(id), `row ${id} rewritten`).toBe(x);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const [runRow] = await sql(dst.url, `SELECT attempts::text, rows_read::text, rows_committed::text FROM tidemark.runs WHERE run_id = 'wf/2'`);
    expect(runRow).toEqual({ attempts: '2', rows_read: String(ROWS), rows_committed: String(ROWS) });
  });

  it('starts from the durable checkpoint when it is newer than the heartbeat details', async () => {
    await expect(
      run({ runKey: 'wf/3' }, new MockActivityEnvironment(), undefined, {
        afterBatch: async ({ pages }: { pages: number }) => {
          if (pages === 3) throw new Error('died before the heartbeat reached the server');
        },
      }),
    ).rejects.toThrow();
    const stale: Partial<Progress> = { cursor: ['2024-01-01 00:01:40.000123+00', '1000'], rows: 1000 };
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: stale });
    const beats: Progress[] = [];
    env.on('heartbeat', (d: Progress) => beats.push(d));
    await run({ runKey: 'wf/3' }, env);
    expect(beats[0]!.rows).toBe(3000);
    const [r] = await sql(dst.url, `SELECT rows_read::text FROM tidemark.runs WHERE run_id = 'wf/3'`);
    expect(r!.rows_read).toBe(String(ROWS));
  });

  it('a new backfill starts from `from`, not from an older backfill checkpoint', async () => {
    await run({ runKey: 'wf/4a' });
    const r = await run({ runKey: 'wf/4b', from: ['2024-01-01 00:08:00.000123+00', '4800'] });
    expect(r.rows).toBe(ROWS - 4800); // ids 4801..4809 share the cursor's second, then the rest
  });

  it('sync picks up only changed and new rows, from its checkpoint', async () => {
    await run({ runKey: 'wf/5a' });
    const before = await versions();
    await sql(src.url, `UPDATE public.orders SET status = 'paid', updated_at = '2025-01-01' WHERE id IN (10, 20, 30)`);
    await insertOrders(src.url, ROWS + 1, ROWS + 5, { start: '2025-02-01' });
    const r = await run({ runKey: 'wf/5b', mode: 'sync' });
    expect(r).toMatchObject({ rows: 8, done: true });
    const after = await versions();
    const rewritten = [...after].filter(([id, x]) => before.get(id) !== x).map(([id]) => Number(id)).sort((a, b) => a - b);
    expect(rewritten).toEqual([10, 20, 30, ROWS + 1, ROWS + 2, ROWS + 3, ROWS + 4, ROWS + 5]);
    expect(await run({ runKey: 'wf/5c', mode: 'sync' })).toMatchObject({ rows: 0, done: true });
    await sql(src.url, `DELETE FROM public.orders WHERE id > ${ROWS}; UPDATE public.orders SET status = 'new', updated_at = '2024-01-01 00:00:00.000123+00'::timestamptz + ((id / 10) * interval '1 second') WHERE id IN (10, 20, 30)`);
  });

  it('the checkpoint is where a sync starts: a later previous result is only a warning; with no checkpoint at all, the result is used', async () => {
    const end = (await run({ runKey: 'wf/12a' })).cursor; // the backfill hands the sync checkpoint its end
    const row4000 = ['2024-01-01 00:06:40.000123+00', '4000'];
    await sql(dst.url, `UPDATE tidemark.checkpoints SET cursor = $1::jsonb WHERE slot = 'sync'`, [JSON.stringify(row4000)]);
    const moved = await run({ runKey: 'wf/12b', mode: 'sync', after: end });
    expect(moved).toMatchObject({ rows: ROWS - 4000, done: true, cursor: end });
    const [r] = await sql<{ warnings: string[] }>(dst.url, `SELECT to_json(warnings) AS warnings FROM tidemark.runs WHERE run_id = 'wf/12b'`);
    expect(r!.warnings).toEqual([`the previous run ended at ${JSON.stringify(end)} but the sync checkpoint is at ${JSON.stringify(row4000)} (moved by \`tidemark checkpoint\` or by another run); started from the checkpoint`]);
    // No checkpoint row at all (first run after an upgrade): the previous result says where to start.
    await sql(dst.url, `DELETE FROM tidemark.checkpoints WHERE slot = 'sync'`);
    expect(await run({ runKey: 'wf/12c', mode: 'sync', after: row4000 })).toMatchObject({ rows: ROWS - 4000, done: true });
    expect(await sql(dst.url, `SELECT array_length(warnings, 1)::text AS n FROM tidemark.runs WHERE run_id = 'wf/12c'`)).toEqual([{ n: null }]);

    // A retry of the same run: its own first attempt moved the checkpoint, which is no news (acceptance run: the
    // warning blamed an operator or another run).
    await sql(dst.url, `UPDATE tidemark.checkpoints SET cursor = $1::jsonb WHERE slot = 'sync'`, [JSON.stringify(row4000)]);
    const crash = new Error('worker died');
    const first = run({ runKey: 'wf/12d', mode: 'sync', after: row4000, tuning: { batchSize: 300 } }, undefined, undefined, { afterBatch: async ({ pages }: { pages: number }) => { if (pages === 1) throw crash; } });
    await expect(first).rejects.toBe(crash);
    const again = await run({ runKey: 'wf/12d', mode: 'sync', after: row4000 }, new MockActivityEnvironment({ attempt: 2 }));
    expect(again).toMatchObject({ done: true, cursor: end });
    expect(await sql(dst.url, `SELECT attempts::text, array_length(warnings, 1)::text AS n FROM tidemark.runs WHERE run_id = 'wf/12d'`)).toEqual([{ attempts: '2', n: null }]);

    // Attempts that never reached the state database (it was down) count, and the row starts when the activity was
    // first scheduled (an acceptance run: "attempts 2" after 9, a start a minute late).
    const scheduled = Date.now() - 120_000;
    await run({ runKey: 'wf/12e', mode: 'sync' }, new MockActivityEnvironment({ attempt: 4, scheduledTimestampMs: scheduled }));
    const [late] = await sql<{ attempts: string; ago: string }>(dst.url, `SELECT attempts::text, round(extract(epoch FROM now() - started_at))::text AS ago FROM tidemark.runs WHERE run_id = 'wf/12e'`);
    expect(late!.attempts).toBe('4');
    expect(Number(late!.ago)).toBeGreaterThanOrEqual(119);
  });

  it("the source plan's warnings (no index serves the keyset order) are stored on the run", async () => {
    await sql(src.url, `CREATE TABLE public.no_index (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL);
      INSERT INTO public.no_index SELECT g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 50) g`);
    const cfg = ordersConfig({ table: 'public.no_index' });
    (cfg.integrations[0]!.sink as PostgresSinkConfig).table = 'copy.no_index';
    expect(await run({ runKey: 'wf/13' }, undefined, cfg)).toMatchObject({ rows: 50, done: true });
    const [r] = await sql<{ warnings: string[] }>(dst.url, `SELECT to_json(warnings) AS warnings FROM tidemark.runs WHERE run_id = 'wf/13'`);
    expect(r!.warnings).toHaveLength(1);
    expect(r!.warnings[0]).toMatch(/^no index on public.no_index serves the keyset order .*Create one: CREATE INDEX CONCURRENTLY ON public.no_index \(updated_at, id\)$/);
  });

  it('cancellation stops at a batch boundary with the checkpoint matching what was written', async () => {
    const env = new MockActivityEnvironment();
    const p = run({ runKey: 'wf/6' }, env, undefined, {
      afterBatch: async ({ pages }: { pages: number }) => {
        if (pages === 2) env.cancel();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledFailure);
    const [cp] = await sql<{ rows_done: string }>(dst.url, `SELECT rows_done::text FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    const [{ n }] = (await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.orders')) as [{ n: string }];
    expect(cp!.rows_done).toBe(n);
    expect(Number(n) % 1000).toBe(0);
    const [r] = await sql(dst.url, `SELECT status FROM tidemark.runs WHERE run_id = 'wf/6'`);
    expect(r!.status).toBe('cancelled');
  });

  it('cancellation while a page read is blocked cancels the query and closes the run as cancelled', async () => {
    const env = new MockActivityEnvironment();
    const pg = await import('pg');
    const locker = new pg.default.Client({ connectionString: src.url });
    await locker.connect();
    try {
      const p = run({ runKey: 'wf/6b' }, env, undefined, {
        afterBatch: async ({ pages }: { pages: number }) => {
          if (pages !== 1) return;
          // The next page (and the one read ahead) now block on the lock; cancel while they wait.
          await locker.query('BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
          setTimeout(() => env.cancel(), 500);
        },
      });
      await expect(p).rejects.toBeInstanceOf(CancelledFailure);
      const [r] = await sql(dst.url, `SELECT status, error FROM tidemark.runs WHERE run_id = 'wf/6b'`);
      expect(r).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/while a page was being read/) });
      const [blocked] = await sql(src.url, `SELECT count(*)::text AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
      expect(blocked!.n).toBe('0');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });

  it('maxRunDuration stops cleanly and the next run continues the backlog', async () => {
    const cfg = ordersConfig({}, { maxRunDuration: 1, batchSize: 500 });
    const first = await run({ runKey: 'wf/7a', mode: 'sync' }, undefined, cfg);
    expect(first).toMatchObject({ rows: 500, done: false, stoppedBy: 'time-budget' });
    const second = await run({ runKey: 'wf/7b', mode: 'sync', after: first.cursor }, undefined, cfg);
    expect(second.rows).toBe(500);
    const rest = await run({ runKey: 'wf/7c', mode: 'sync' });
    expect(rest).toMatchObject({ rows: ROWS - 1000, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    // Out of time on a page the source said was its last (short): done, not "stopped early" with a backlog to catch
    // up that is not there (an acceptance run: status said "catching up" after an API's has_more: false).
    await insertOrders(src.url, ROWS + 1, ROWS + 10, { start: '2025-01-01 00:00:00+00' });
    const last = await run({ runKey: 'wf/7d', mode: 'sync' }, undefined, cfg);
    expect(last).toMatchObject({ rows: 10, done: true });
    expect(last.stoppedBy).toBeUndefined();
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    await sql(src.url, `DELETE FROM public.orders WHERE id > ${ROWS}`);
  });

  it('collapses duplicate keys within a batch (last wins)', async () => {
    await sql(src.url, `CREATE TABLE public.events (seq bigint PRIMARY KEY, order_id bigint NOT NULL, status text NOT NULL);
      INSERT INTO public.events VALUES (1, 1, 'a'), (2, 2, 'a'), (3, 1, 'b'), (4, 1, 'c'), (5, 2, 'b')`);
    const cfg = ordersConfig({ table: 'public.events', cursor: ['seq'] });
    cfg.integrations[0]!.sink = { kind: 'postgres', url: '${DST_URL}', table: 'copy.latest', key: ['order_id'], create: true };
    await run({ runKey: 'wf/8' }, undefined, cfg);
    expect(await sql(dst.url, 'SELECT order_id::text, status, seq::text FROM copy.latest ORDER BY order_id')).toEqual([
      { order_id: '1', status: 'c', seq: '4' },
      { order_id: '2', status: 'b', seq: '5' },
    ]);
  });

  it('fails with a clear, permanent error for a missing sink table or unknown integration, writing nothing', async () => {
    await expect(run({ runKey: 'wf/11', mode: 'resume' })).rejects.toMatchObject({ nonRetryable: true, type: 'NothingToResumeError' });
    const cfg = ordersConfig();
    (cfg.integrations[0]!.sink as PostgresSinkConfig).create = false;
    await expect(run({ runKey: 'wf/9' }, undefined, cfg)).rejects.toMatchObject({
      nonRetryable: true,
      type: 'TableNotFoundError',
      message: expect.stringMatching(/sink table copy.orders does not exist: create it, or set sink.create: true/),
    });
    // The worker's config decides what an id means: the message says whose config lacks it (acceptance run).
    await expect(run({ runKey: 'wf/10', integration: 'nope' })).rejects.toMatchObject({ nonRetryable: true, type: 'UnknownIntegrationError', message: expect.stringMatching(/^unknown integration "nope": the config defines "orders" \(in the config of the worker that ran this, pid \d+ on .+: every worker on a task queue must load the same config; restart the workers after changing it\)$/) });
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = 'copy'`)).toEqual([{ n: '0' }]);
  });
  it('a run that fails before it reads (a missing source table, an unset secret) still gets its row in tidemark.runs, with the error', async () => {
    await expect(run({ runKey: 'wf/early-1' }, undefined, ordersConfig({ table: 'public.nope' }))).rejects.toMatchObject({ nonRetryable: true });
    const unset = ordersConfig();
    unset.integrations[0]!.source = { ...unset.integrations[0]!.source, url: '${TIDEMARK_TEST_NOT_SET}' } as typeof unset.integrations[0]['source'];
    await expect(run({ runKey: 'wf/early-2', mode: 'sync' }, undefined, unset)).rejects.toMatchObject({ message: expect.stringMatching(/TIDEMARK_TEST_NOT_SET/) });
    const rows = await sql<{ run_id: string; kind: string; status: string; error: string; attempts: string }>(dst.url, `SELECT run_id, kind, status, error, attempts::text FROM tidemark.runs WHERE run_id LIKE 'wf/early-%' ORDER BY run_id`);
    expect(rows).toEqual([
      { run_id: 'wf/early-1', kind: 'backfill', status: 'failed', error: expect.stringMatching(/public\.nope/), attempts: '1' },
      { run_id: 'wf/early-2', kind: 'sync', status: 'failed', error: expect.stringMatching(/TIDEMARK_TEST_NOT_SET/), attempts: '1' },
    ]);
  });

  it('a retryable failure before the row, then an attempt that completes: one row, two attempts, the cursors of the attempt that read', async () => {
    const down = ordersConfig();
    down.integrations[0]!.source = { ...down.integrations[0]!.source, url: 'postgres://postgres@127.0.0.1:1/none' } as typeof down.integrations[0]['source'];
    const from = ['2024-01-01 00:00:00.000123+00', '10'];
    await expect(run({ runKey: 'wf/early-3', from }, undefined, down)).rejects.toThrow();
    const [first] = await sql<{ status: string; start_cursor: string | null }>(dst.url, `SELECT status, start_cursor::text FROM tidemark.runs WHERE run_id = 'wf/early-3'`);
    expect(first).toEqual({ status: 'running', start_cursor: 'null' }); // retryable: the next attempt continues the run
    const done = await run({ runKey: 'wf/early-3', from });
    expect(done.done).toBe(true);
    const [row] = await sql<{ status: string; attempts: string; start_cursor: string; end_cursor: string; error: string | null }>(dst.url, `SELECT status, attempts::text, start_cursor::text, end_cursor::text, error FROM tidemark.runs WHERE run_id = 'wf/early-3'`);
    expect(row).toMatchObject({ status: 'completed', attempts: '2', error: null });
    expect(JSON.parse(row!.start_cursor)).toEqual(from);
    expect(JSON.parse(row!.end_cursor)).toEqual(done.cursor);
  });

  it('a re-sync of a bulk update replaces its pages and ends equal; a target with a trigger keeps the upsert, and the run says why', async () => {
    await sql(src.url, 'DROP TABLE IF EXISTS public.orders_bulk; CREATE TABLE public.orders_bulk AS SELECT * FROM public.orders; ALTER TABLE public.orders_bulk ADD PRIMARY KEY (id)');
    const config = ordersConfig({ table: 'public.orders_bulk' });
    expect(await run({ runKey: 'wf/bulk-1' }, new MockActivityEnvironment(), config)).toMatchObject({ rows: ROWS, done: true });
    await sql(src.url, `UPDATE public.orders_bulk SET status = status || '!'`);
    const before = await versions();
    const logs: LogEntry[] = [];
    const resync = await run({ runKey: 'wf/bulk-2' }, new MockActivityEnvironment({}, { logger: new DefaultLogger('INFO', (e) => logs.push(e)) }), config);
    expect(resync).toMatchObject({ rows: ROWS, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders_bulk'));
    const after = await versions();
    expect([...after.keys()].every((k) => after.get(k) !== before.get(k))).toBe(true);
    expect(logs.find((e) => e.message === 'run starting')?.meta).not.toHaveProperty('changedPagesUpserted');
    // The same with an audit trigger on the target: upserted, and the log line names the trigger.
    await sql(dst.url, `CREATE FUNCTION copy.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER audit BEFORE UPDATE ON copy.orders FOR EACH ROW EXECUTE FUNCTION copy.audit()`);
    await sql(src.url, `UPDATE public.orders_bulk SET status = status || '?'`);
    logs.length = 0;
    const third = await run({ runKey: 'wf/bulk-3' }, new MockActivityEnvironment({}, { logger: new DefaultLogger('INFO', (e) => logs.push(e)) }), config);
    expect(third).toMatchObject({ rows: ROWS, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders_bulk'));
    expect(logs.find((e) => e.message === 'run starting')?.meta).toMatchObject({ changedPagesUpserted: 'it has triggers' });
    await sql(src.url, 'DROP TABLE public.orders_bulk');
  });
});
