import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { startIntegrationRun } from '../../src/client';
import { describeRun } from '../../src/cli/run-progress';
import { parseConfig } from '../../src/config';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';
import { digest, insertOrders, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { sleep, testWorker, uniqueQueue } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let src: TestDatabase;
let dst: TestDatabase;
// 10 rows per updated_at: shard boundaries fall inside runs of equal timestamps.
const ROWS = 20_000;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });

beforeAll(async () => {
  [env, src, dst] = await Promise.all([timeSkippingEnv(), createTestDatabase('shard_src'), createTestDatabase('shard_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  await sql(src.url, 'ANALYZE public.orders');
});
afterAll(async () => {
  await env?.teardown();
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
  // Undo the first test's source changes even when it failed half-way.
  await sql(src.url, `DELETE FROM public.orders WHERE id > ${ROWS}`);
  await sql(src.url, `UPDATE public.orders SET status = 'new', updated_at = '2024-01-01 00:00:00.000123+00'::timestamptz + ((id / 10) * interval '1 second') WHERE id IN (3, 9999)`);
});

interface SlotRow {
  slot: string;
  status: string;
  rows_done: string;
  cursor: string;
  until_cursor: string | null;
}
const shardSlots = () =>
  sql<SlotRow>(dst.url, `SELECT slot, status, rows_done::text, cursor::text, until_cursor::text FROM tidemark.checkpoints WHERE slot LIKE 'backfill/%' ORDER BY slot`).catch(
    () => [] as SlotRow[],
  );

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function scheduledActivities(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name!);
}

describe('sharded backfills (time-skipping server, real PostgreSQL)', () => {
  it('4 shards of similar size cover the range exactly; history is O(shards); the next sync continues after it', async () => {
    const taskQueue = uniqueQueue('shards');
    // Shard 0 a little slower, so the last page committed is not the last shard's (the run's end cursor below).
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 700 }), vars(), { afterBatch: async ({ shard }: { shard?: number }) => (shard === 0 ? sleep(40) : undefined) });
    await w.runUntil(async () => {
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', shards: 4 }, taskQueue);
      const r = (await handle.result()) as RunResult;
      expect(r).toMatchObject({ rows: ROWS, done: true });
      expect(await scheduledActivities(handle.workflowId)).toEqual(['planBackfill', 'runIntegration', 'runIntegration', 'runIntegration', 'runIntegration', 'finishBackfill']);
      const history = await handle.fetchHistory();
      // Per activity: scheduled, started, completed and a workflow task: O(shards), whatever the row count.
      expect(history.events!.length).toBeLessThanOrEqual(8 * (4 + 2));

      const slots = await shardSlots();
      expect(slots.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
      const sizes = slots.map((s) => Number(s.rows_done));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(ROWS);
      // A table this small is cut on its own keys, not a sample: each shard a quarter, give or take a run of equal
      // timestamps (10 rows).
      for (const n of sizes) expect(Math.abs(n - ROWS / 4)).toBeLessThanOrEqual(10);
      // Each shard ends exactly at its upper key; the next one starts right after it.
      for (const s of slots.slice(0, 3)) expect(s.cursor).toBe(s.until_cursor);
      // The run's end cursor is where the whole range ended (the result's), not the last shard to commit.
      const [run] = await sql<{ end_cursor: unknown }>(dst.url, `SELECT end_cursor FROM tidemark.runs WHERE kind = 'backfill' AND status = 'completed'`);
      expect(run!.end_cursor).toEqual(r.cursor);
      console.log(`4 shards: ${sizes.join(' / ')} rows; history ${history.events!.length} events`);

      await insertOrders(src.url, ROWS + 1, ROWS + 30, { start: '2025-06-01 00:00:00+00' });
      await sql(src.url, `UPDATE public.orders SET status = 'paid', updated_at = '2025-01-01' WHERE id IN (3, 9999)`);
      const s = (await env.client.workflow.execute('syncWorkflow', { taskQueue, workflowId: 'shards-sync', args: [{ integration: 'orders' }] })) as RunResult;
      expect(s.rows).toBe(32);

      // Nothing left to resume: refused clearly, nothing taken over.
      const again = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', resume: true }, taskQueue);
      const err = (await again.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(String((err.cause?.cause as Error | undefined)?.message)).toMatch(/the last backfill of "orders" already completed .*start a new one with `tidemark backfill orders`/);

      // A newer backfill that failed before its plan made slots (its source down for good) left the older ones
      // behind: resume says so, not "already completed" beside a failed run (acceptance run).
      await sql(dst.url, `INSERT INTO tidemark.runs (run_id, integration, kind, status, started_at, finished_at, error) VALUES ('wf/failed-plan', 'orders', 'backfill', 'failed', now(), now(), 'connect ECONNREFUSED 127.0.0.1:1')`);
      const third = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', resume: true }, taskQueue);
      const refused = (await third.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(String((refused.cause?.cause as Error | undefined)?.message)).toMatch(/the last backfill of "orders" \(.+\) failed before it read a row \(connect ECONNREFUSED 127\.0\.0\.1:1\): it left nothing to resume; start a new one with `tidemark backfill orders`/);
      await sql(dst.url, `DELETE FROM tidemark.runs WHERE run_id = 'wf/failed-plan'`);
    });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect(await sql(dst.url, `SELECT kind, status, rows_committed::text AS n FROM tidemark.runs WHERE kind = 'backfill'`)).toEqual([{ kind: 'backfill', status: 'completed', n: String(ROWS) }]);
  });

  it('cancelled while its plan waits for writers: the plan stops, no slots, the run row says cancelled (an acceptance run: running for good)', async () => {
    const taskQueue = uniqueQueue('shards-cancel-plan');
    const { default: pg } = await import('pg');
    const writer = new pg.Client({ connectionString: src.url });
    await writer.connect();
    await writer.query('BEGIN');
    await writer.query('LOCK TABLE public.orders IN ROW EXCLUSIVE MODE'); // an open writer
    const w = await testWorker(env, taskQueue, ordersConfig({ writersWait: '60s' }), vars());
    try {
      await w.runUntil(async () => {
        const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', shards: 2 }, taskQueue);
        // The plan is waiting for the writer (its source session is there).
        const planWaits = async () => Number((await sql<{ n: string }>(src.url, `SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name LIKE 'tm:%:source' AND datname = current_database()`))[0]!.n) > 0;
        await until(planWaits, 'the plan to wait for the writer');
        // `status` says it is planning (it showed only RUNNING: an acceptance run).
        await until(async () => (await describeRun(env.client, handle))?.planning?.silentS !== undefined, 'the plan to be started');
        expect((await describeRun(env.client, handle))?.planning).toMatchObject({ attempt: 1, silentS: expect.any(Number) });
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
        // The cancel reaches the plan (it heartbeats) long before its 60 s wait ends.
        await until(async () => !(await planWaits()), 'the plan to stop');
        expect(await shardSlots()).toEqual([]);
        const runs = await sql(dst.url, `SELECT kind, status, error FROM tidemark.runs WHERE run_id LIKE $1`, [`${handle.workflowId}/%`]);
        expect(runs).toEqual([{ kind: 'backfill', status: 'cancelled', error: 'cancelled before its first page' }]);
      });
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  });

  it('resume after termination runs only the unfinished shards, each from its own checkpoint', async () => {
    const taskQueue = uniqueQueue('shard-resume');
    // Shard 0 runs fast and finishes; the others crawl until the workflow is terminated.
    const slowShards = { afterBatch: async ({ shard }: { shard?: number }) => (shard === 0 ? undefined : sleep(300)) };
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 250 }), vars(), slowShards);
    let atTermination: SlotRow[] = [];
    await w.runUntil(async () => {
      const first = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', shards: 4 }, taskQueue);
      await until(async () => {
        const slots = await shardSlots();
        return slots[0]?.status === 'done' && slots.slice(1).every((s) => Number(s.rows_done) >= 500);
      }, 'shard 0 done, the others under way');
      await first.terminate('operator stopped it');
      await sleep(2_500); // the old activities learn of it at their next heartbeat and stop at a batch boundary
      atTermination = await shardSlots();
    });
    const w2 = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 250 }), vars());
    await w2.runUntil(async () => {
      const resumed = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', resume: true }, taskQueue);
      const r = (await resumed.result()) as RunResult;
      expect(r.done).toBe(true);
      expect(await scheduledActivities(resumed.workflowId)).toEqual(['planBackfill', 'runIntegration', 'runIntegration', 'runIntegration', 'finishBackfill']);
    });
    const after = await shardSlots();
    expect(after.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(after[0]!.rows_done).toBe(atTermination[0]!.rows_done); // finished shard untouched
    expect(after.reduce((n, s) => n + Number(s.rows_done), 0)).toBe(ROWS);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const runs = await sql<{ kind: string; status: string; rows_read: string; shards: string }>(dst.url, 'SELECT kind, status, rows_read::text, shards::text FROM tidemark.runs ORDER BY started_at');
    // The resume read the 3 unfinished shards (`runs` says so, not "(beginning)").
    expect(runs.map((r) => [r.kind, r.status, r.shards])).toEqual([
      ['backfill', 'failed', '4'],
      ['resume', 'completed', '3'],
    ]);
    const read = runs.reduce((n, r) => n + Number(r.rows_read), 0);
    expect(read - ROWS).toBeLessThanOrEqual(3 * 250); // at most the page in flight of each terminated shard
  });

  it('a tune signal changes the page size of a running backfill; a bad one is ignored, not fatal', async () => {
    const taskQueue = uniqueQueue('tune');
    const pageSizes: number[] = [];
    let last = 0;
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 100 }), vars(), {
      afterBatch: async ({ rows }) => {
        pageSizes.push(rows - last);
        last = rows;
        await sleep(60);
      },
    });
    await w.runUntil(async () => {
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders' }, taskQueue);
      await until(async () => pageSizes.length >= 5, '5 pages');
      await handle.signal('tune', { batchSize: 'huge' });
      await handle.signal('tune', { batchSize: 2_000 });
      const r = (await handle.result()) as RunResult;
      expect(r).toMatchObject({ rows: ROWS, done: true });
    });
    expect(pageSizes.slice(0, 5)).toEqual([100, 100, 100, 100, 100]);
    expect(pageSizes.filter((n) => n === 2_000).length).toBeGreaterThanOrEqual(5);
    expect(pageSizes.filter((n) => n !== 100 && n !== 2_000).length).toBeLessThanOrEqual(1); // the last page
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    console.log(`tune: ${pageSizes.filter((n) => n === 100).length} pages of 100, then ${pageSizes.filter((n) => n === 2_000).length} of 2000`);
  });

  it('--rate from the start paces the run; a tune signal lifts the limit without a restart', async () => {
    const taskQueue = uniqueQueue('tune-rate');
    const at: number[] = [];
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 250 }), vars(), { afterBatch: async () => void at.push(Date.now()) });
    await w.runUntil(async () => {
      // 1,000 rows/s in pages of 250: a page every ~250 ms, so 20,000 rows would take 20 s.
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', rate: 1_000 }, taskQueue);
      await until(async () => at.length >= 6, '6 pages');
      await handle.signal('tune', { rowsPerSecond: 1_000_000 });
      const tunedAt = Date.now();
      const r = (await handle.result()) as RunResult;
      expect(r).toMatchObject({ rows: ROWS, done: true });
      const gaps = (from: number, to: number) => at.slice(from + 1, to).map((t, i) => t - (at[from + i] as number));
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
      const paced = median(gaps(1, 6));
      // 80 pages in all; the tune lands within about a second (≤ 4 more paced pages), so the last 20 are all after it.
      expect(at.length).toBe(ROWS / 250);
      expect(at.filter((t) => t > tunedAt).length).toBeGreaterThan(40);
      const lifted = median(gaps(at.length - 21, at.length));
      console.log(`rate tune: a page every ${paced} ms at 1,000 rows/s, every ${lifted} ms after the tune; ${at.length} pages`);
      expect(paced).toBeGreaterThanOrEqual(200);
      expect(lifted).toBeLessThan(paced / 3);
    });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('a rate set far too low is undone by a tune at once: the page it holds back is released, not paced to its end', async () => {
    const taskQueue = uniqueQueue('tune-undo');
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 2_000 }), vars());
    await w.runUntil(async () => {
      // 5 rows/s in pages of 2,000: each page is held back 400 s.
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', rate: 5 }, taskQueue);
      await until(async () => (await sql(dst.url, `SELECT 1 FROM tidemark.runs`).catch(() => [])).length > 0, 'the run');
      await sleep(1_500);
      const tunedAt = Date.now();
      await handle.signal('tune', { rowsPerSecond: 1_000_000 });
      const r = (await handle.result()) as RunResult;
      expect(r).toMatchObject({ rows: ROWS, done: true });
      expect(Date.now() - tunedAt).toBeLessThan(15_000);
    });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('a shard that fails for good names its slot in the run`s failure (an acceptance run: which shard?)', async () => {
    const taskQueue = uniqueQueue('shardfail');
    // The other shards are still reading when shard 1 fails (300 ms a page): the cancel the failure sends them does
    // not race their completion, which the time-skipping server answered with ACTIVITY_UNKNOWN and a stuck workflow.
    const fatal = async ({ shard }: { shard?: number }) => {
      if (shard === 1) throw ApplicationFailure.nonRetryable('injected: a permanent refusal', 'InjectedError');
      await sleep(300);
    };
    const w2 = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 700 }), vars(), { afterBatch: fatal });
    await w2.runUntil(async () => {
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', shards: 4 }, taskQueue);
      const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String((err.cause?.cause as Error | undefined)?.message)).toMatch(/^shard backfill\/1: injected: a permanent refusal/);
    });
  });

  it('a source that cannot split fails a sharded backfill at once with a clear error', async () => {
    const taskQueue = uniqueQueue('nosplit');
    const cfg = parseConfig({
      integrations: [
        { id: 'counter', source: { kind: 'counter', module: join(__dirname, '..', 'fixtures', 'counter-source.js'), total: 10 }, sink: { url: '${DST_URL}', table: 'public.counted', key: ['id'], create: true } },
      ],
    });
    const w = await testWorker(env, taskQueue, cfg, vars());
    await w.runUntil(async () => {
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'counter', shards: 2 }, taskQueue);
      const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String((err.cause?.cause as Error | undefined)?.message)).toMatch(/a counter source cannot split its key range; run the backfill without --shards/);
    });
    // A wrong argument, not a failure of the integration: nothing written, not even a run row (`status --all` stays as it was).
    expect(await sql(dst.url, `SELECT 1 FROM tidemark.runs WHERE integration = 'counter'`)).toEqual([]);
  });
});
