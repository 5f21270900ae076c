import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type Progress, type RunInput, type RunResult } from '../../src/activities';
import { DURABLE_EVERY_MS } from '../../src/activities/page-loop';
import { migrate } from '../../src/db/migrate';
import * as state from '../../src/db/state';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';

/**
 * Pages that commit without waiting for the WAL flush (issue 16): which pages do, and that nothing that
 * leaves the database (heartbeats, the run's result) names a page that may not be on disk yet.
 */
let src: TestDatabase;
let dst: TestDatabase;
const ROWS = 4_000;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('lazy_src'), createTestDatabase('lazy_dst')]);
  await seedOrders(src.url, { rows: ROWS });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

const cursorKey = (c: unknown) => JSON.stringify(c);

async function run(runKey: string, afterBatch: (info: { pages: number }) => Promise<void>, env = new MockActivityEnvironment()): Promise<{ result: RunResult; beats: Progress[]; committed: string[] }> {
  const beats: Progress[] = [];
  env.on('heartbeat', (d: Progress) => beats.push(d));
  const committed: string[] = [];
  const acts = createActivities({
    config: () => ordersConfig(),
    env: { SRC_URL: src.url, DST_URL: dst.url },
    // After each commit: the checkpoint as the database has it, and every heartbeat so far named a committed cursor.
    afterBatch: async (info) => {
      const [cp] = await sql<{ cursor: unknown }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'backfill'`);
      committed.push(cursorKey(cp!.cursor));
      await afterBatch(info);
    },
  });
  const input: RunInput = { integration: 'orders', mode: 'backfill', runKey };
  const result = (await env.run(acts.runIntegration, input)) as RunResult;
  return { result, beats, committed };
}

describe('lazy page commits', () => {
  it('recordPage turns the flush wait off for its own transaction only, when asked', async () => {
    const c = new pg.Client({ connectionString: dst.url });
    await c.connect();
    const setting = async () => ((await c.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0] as { synchronous_commit: string }).synchronous_commit;
    try {
      // The test cluster may run without the flush wait; this session has it, as a durable server would.
      await c.query('SET synchronous_commit = on');
      await migrate(c);
      await state.claimCheckpoint(c, { integration: 'manual', slot: 'backfill', owner: 'lazy/0', cursor: null, highWater: null, reset: true });
      await state.startRun(c, 'lazy/0', 'manual', 'backfill', null);
      const page = { integration: 'manual', slot: 'backfill', runId: 'lazy/0', cursor: ['x', '1'], rows: 1, read: 1, written: 1, rejected: 0 };
      for (const lazyCommit of [true, false]) {
        await c.query('BEGIN');
        await state.recordPage(c, { ...page, lazyCommit });
        expect(await setting()).toBe(lazyCommit ? 'off' : 'on');
        await c.query('COMMIT');
        expect(await setting()).toBe('on');
      }
      await state.flushCommits(c);
      const [cp] = await sql<{ rows_done: string }>(dst.url, `SELECT rows_done::text FROM tidemark.checkpoints WHERE integration = 'manual'`);
      expect(cp!.rows_done).toBe('2');
    } finally {
      await c.end();
    }
  });

  it('fast pages commit lazily; heartbeats carry only the cursors of pages whose commit waited for the flush, the result the last page', async () => {
    // 4 pages of 1,000 rows, 400 ms apart: about one page a second commits with the flush.
    const { result, beats, committed } = await run('lazy/1', () => new Promise((r) => setTimeout(r, 400)));
    expect(result).toMatchObject({ rows: ROWS, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const named = new Set(beats.map((b) => cursorKey(b.cursor)));
    // Every cursor a heartbeat named was committed; some committed pages were never named (lazy ones).
    for (const c of named) if (c !== 'null') expect(committed).toContain(c);
    const lazy = committed.filter((c) => !named.has(c));
    expect(lazy.length).toBeGreaterThan(0);
    expect(lazy.length).toBeLessThan(committed.length);
    // The progress counts every page at once; only the cursor waits for the flush.
    expect(Math.max(...beats.map((b) => b.rows))).toBe(ROWS);
    // The last heartbeat and the result name the last page, after the run's end was flushed.
    expect(beats[beats.length - 1]!.cursor).toEqual(result.cursor);
    expect(cursorKey(result.cursor)).toBe(committed[committed.length - 1]);
    expect(DURABLE_EVERY_MS).toBeGreaterThan(400);
  });

  it('a retry given the last heartbeat of a failed attempt starts from the checkpoint, writing nothing twice', async () => {
    const env1 = new MockActivityEnvironment();
    const beats: Progress[] = [];
    env1.on('heartbeat', (d: Progress) => beats.push(d));
    const crash = new Error('worker died');
    await expect(
      env1.run(
        createActivities({
          config: () => ordersConfig(),
          env: { SRC_URL: src.url, DST_URL: dst.url },
          afterBatch: async ({ pages }) => {
            if (pages === 3) throw crash;
          },
        }).runIntegration,
        { integration: 'orders', mode: 'backfill', runKey: 'lazy/2' } satisfies RunInput,
      ),
    ).rejects.toBe(crash);
    const [cp] = await sql<{ cursor: unknown }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    const last = beats[beats.length - 1]!;
    // Three fast pages: their commits did not wait, so the heartbeat still names where the run started.
    expect(cursorKey(last.cursor)).not.toBe(cursorKey(cp!.cursor));
    const before = await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders');
    expect(before).toHaveLength(3000);
    const { result } = await run('lazy/2', async () => undefined, new MockActivityEnvironment({ attempt: 2, heartbeatDetails: last }));
    expect(result).toMatchObject({ rows: ROWS, done: true });
    const after = new Map((await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders')).map((r) => [r.id, r.x]));
    for (const r of before) expect(after.get(r.id), `row ${r.id} rewritten`).toBe(r.x);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });
});
