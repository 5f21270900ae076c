import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess } from '../fixtures/in-process-cli';
import { runCli } from '../helpers/cli';
import { ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { testWorker, uniqueQueue } from '../helpers/temporal';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';

let env: TestWorkflowEnvironment;
let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
const ROWS = 2_000;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });
// The cursor of row 1000 (seedOrders: 10 rows per second, microseconds kept).
const ROW_1000 = ['2024-01-01 00:01:40.000123+00', '1000'];

beforeAll(async () => {
  [env, src, dst] = await Promise.all([timeSkippingEnv(), createTestDatabase('cpcli_src'), createTestDatabase('cpcli_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  cwd = mkdtempSync(join(tmpdir(), 'tm-checkpoint-'));
  writeFileSync(
    join(cwd, 'tidemark.json'),
    JSON.stringify({
      integrations: [
        {
          id: 'orders',
          source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
          sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
          batchSize: 500,
        },
      ],
    }),
  );
});
afterAll(async () => {
  await env?.teardown();
  await Promise.all([src?.drop(), dst?.drop()]);
});

/** `tidemark … --config <this test's config>` in this process. */
const cli = (args: string[]) => cliInProcess([...args, '--config', join(cwd, 'tidemark.json')], vars());

type RunRow = { run_id: string; rows_committed: string; start_cursor: string; warnings: string };
async function completedRuns(n: number): Promise<RunRow[]> {
  for (let i = 0; i < 100; i++) {
    const rows = await sql<RunRow>(
      dst.url,
      `SELECT run_id, rows_committed::text, start_cursor::text, array_to_string(warnings, '; ') AS warnings FROM tidemark.runs WHERE status = 'completed' ORDER BY started_at`,
    ).catch(() => []);
    if (rows.length >= n) return rows;
    await env.sleep('1 minute');
  }
  throw new Error(`fewer than ${n} cron runs completed`);
}

describe('tidemark checkpoint: the checkpoint is where a sync starts', () => {
  it('set moves a scheduled sync back (its previous result says later); reset reads everything again', async () => {
    const taskQueue = uniqueQueue('cp');
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 500 }), vars());
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start('syncWorkflow', { taskQueue, workflowId: 'cp-cron', cronSchedule: '*/5 * * * *', args: [{ integration: 'orders' }] });
      const [first] = await completedRuns(1);
      expect(first!.rows_committed).toBe(String(ROWS));

      const show = await cli(['checkpoint', 'show', 'orders']);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toMatch(/^sync +done +cursor \["2024-01-01 00:03:20.000123\+00","2000"\], 2000 rows, owner cp-cron\/.*, updated /m);

      // As a user runs it (bin/tidemark.js, its own process); the other calls run in this process.
      const set = await runCli(['checkpoint', 'set', 'orders', JSON.stringify(ROW_1000), '--yes'], vars(), cwd);
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toContain(`moved the sync checkpoint of orders from ["2024-01-01 00:03:20.000123+00","2000"] to ${JSON.stringify(ROW_1000)}`);

      // The next cron run's lastResult says row 2000; the checkpoint says row 1000, and wins.
      const second = (await completedRuns(2))[1]!;
      expect(JSON.parse(second.start_cursor)).toEqual(ROW_1000);
      expect(second.rows_committed).toBe(String(ROWS - 1000));
      expect(second.warnings).toMatch(/the previous run ended at \["2024-01-01 00:03:20.000123\+00","2000"\] but the sync checkpoint is at \["2024-01-01 00:01:40.000123\+00","1000"\].*started from the checkpoint/);

      const runs = await cli(['runs', 'orders', '--json']);
      const listed = (JSON.parse(runs.stdout) as Array<{ run_id: string; warnings: string[]; rows_committed: unknown; attempts: unknown; start_cursor: unknown }>).find((r) => r.run_id === second.run_id);
      expect(listed?.warnings).toEqual([second.warnings]);
      // Typed JSON: counters as numbers, cursors as JSON values (not text holding JSON).
      expect(listed).toMatchObject({ rows_committed: ROWS - 1000, attempts: 1, start_cursor: ROW_1000 });
      expect((await cli(['runs', 'orders'])).stdout).toContain('but the sync checkpoint is at');

      const reset = await cli(['checkpoint', 'reset', 'orders', '--yes']);
      expect(reset.code, reset.stderr).toBe(0);
      expect(reset.stdout).toContain('to the beginning: the next sync (scheduled or not) reads from the beginning');
      const third = (await completedRuns(3))[2]!;
      expect(third.start_cursor).toBe('null');
      expect(third.rows_committed).toBe(String(ROWS));
      await handle.terminate('test done');
    });
  });

  it('set and reset ask for --yes, check the cursor against the source, and refuse while a run holds the lock', async () => {
    const cursorNow = async () => (await sql(dst.url, `SELECT cursor::text FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'sync'`))[0]?.cursor;
    const before = await cursorNow();

    const dry = await cli(['checkpoint', 'set', 'orders', JSON.stringify(ROW_1000)]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(`would move the sync checkpoint of orders from`);
    expect(dry.stderr).toContain('run again with --yes');
    expect(dry.stderr).not.toContain('note:');
    expect(await cursorNow()).toBe(before);
    // A cursor beyond every row (a year typed wrong) is noted: syncs would read nothing, and nothing else says so.
    const ahead = await cli(['checkpoint', 'set', 'orders', '["2099-01-01 00:00:00+00","1"]']);
    expect(ahead.code).toBe(1);
    expect(ahead.stderr).toContain('note: the source has no row after ["2099-01-01 00:00:00+00","1"] now: syncs read nothing until rows pass it');

    const notJson = await cli(['checkpoint', 'set', 'orders', '[2024-01-01', '--yes']);
    expect(notJson.code).not.toBe(0);
    expect(notJson.stderr).toMatch(/CURSOR_JSON \[2024-01-01: not valid JSON/);
    const wrongShape = await cli(['checkpoint', 'set', 'orders', '["2024-01-01 00:00:00+00"]', '--yes']);
    expect(wrongShape.code).not.toBe(0);
    expect(wrongShape.stderr).toMatch(/cursor/i);
    const wrongType = await cli(['checkpoint', 'set', 'orders', '["yesterday-ish","1"]', '--yes']);
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.stderr).toMatch(/yesterday-ish/);
    // A time word PostgreSQL reads afresh in every statement would be a cursor that never moves (an acceptance run:
    // '["now","0"]' taken, then every sync "completed" with 0 rows while rows arrived).
    for (const word of ['now', 'Today', 'tomorrow', 'yesterday 10:00']) {
      const relative = await cli(['checkpoint', 'set', 'orders', JSON.stringify([word, '1']), '--yes']);
      expect(relative.code, word).not.toBe(0);
      expect(relative.stderr).toContain(`expected a fixed point in time for updated_at (timestamp with time zone), not ${JSON.stringify(word)}: PostgreSQL reads that afresh in every statement`);
    }
    expect(await cursorNow()).toBe(before);

    // A run writing holds the integration's advisory lock (see state.tryLockIntegration).
    const holder = new pg.Client({ connectionString: dst.url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended('tidemark:' || 'orders', 0))`);
      const busy = await cli(['checkpoint', 'reset', 'orders', '--yes']);
      expect(busy.code).not.toBe(0);
      expect(busy.stderr).toContain('orders: a run of this integration is writing (it holds the integration lock): cancel it first (`tidemark cancel orders`)');
      expect(await cursorNow()).toBe(before);
    } finally {
      await holder.end();
    }
    const ok = await cli(['checkpoint', 'reset', 'orders', '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await cursorNow()).toBe('null');
  });
});
