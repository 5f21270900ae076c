import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { workflowIdFor } from '../../src/client';
import type { RunningDevServer } from '../../src/dev';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { runCli, startCli, waitExit } from '../helpers/cli';
import { digest, insertOrders, seedOrders, sql } from '../helpers/fixtures';

const ROWS = 200_000;
const BATCH = 5_000;
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let client: Client;
let cwd: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('e2e_src'), createTestDatabase('e2e_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  cwd = mkdtempSync(join(tmpdir(), 'tm-e2e-'));
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    `integrations:
  - id: orders
    source: { kind: postgres, url: "\${SRC_URL}", table: public.orders, cursor: [updated_at, id], lag: 1s }
    sink: { kind: postgres, url: "\${DST_URL}", table: copy.orders, key: [id], create: true }
    batchSize: ${BATCH}
`,
  );
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: 'e2e-kill', SRC_URL: src.url, DST_URL: dst.url };
});
afterAll(async () => {
  await client?.connection.close();
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

async function rowsDone(): Promise<number> {
  const r = await sql<{ n: string }>(dst.url, `SELECT rows_done::text AS n FROM tidemark.checkpoints WHERE slot = 'backfill'`).catch(() => []);
  return Number(r[0]?.n ?? 0);
}

const READY = /tidemark worker: 1 integration/;

describe('end to end on the Temporal dev server', () => {
  it('a 200k-row backfill survives SIGKILL of its worker process; then `tidemark sync` rewrites only what changed', async () => {
    const first = await startCli(['worker'], env, READY, cwd);
    const t0 = Date.now();
    const started = await runCli(['backfill', 'orders'], env, cwd);
    expect(started.stderr).toBe('');
    expect(started.stdout).toMatch(/started backfillWorkflow tidemark-orders/);

    // Kill the worker the moment a good part of the table is committed.
    while ((await rowsDone()) < 50_000) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const atKill = await rowsDone();
    expect(atKill).toBeLessThan(ROWS);
    // Before the 30 s heartbeat timeout, `status` says the run went silent instead of showing the dead worker's rate as
    // current (an acceptance run). The run waits for that timeout anyway, so this costs the test no time.
    await new Promise((r) => setTimeout(r, 17_000));
    const silent = await runCli(['status', 'orders'], env, cwd);
    expect(silent.stdout).toMatch(/\n {2}silent {5}the run has sent no heartbeat for (1[5-9]|2\d) s: the worker may be gone/);

    const second = await startCli(['worker'], env, READY, cwd);
    try {
      const result = (await client.workflow.getHandle(workflowIdFor('orders')).result()) as RunResult;
      const secs = (Date.now() - t0) / 1000;
      expect(result).toMatchObject({ rows: ROWS, done: true });
      expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));

      const [run] = await sql<{ attempts: string; rows_read: string; rows_committed: string }>(
        dst.url,
        `SELECT attempts::text, rows_read::text, rows_committed::text FROM tidemark.runs WHERE kind = 'backfill'`,
      );
      const reprocessed = Number(run!.rows_read) - Number(run!.rows_committed);
      expect(Number(run!.attempts)).toBe(2);
      expect(Number(run!.rows_committed)).toBe(ROWS);
      expect(reprocessed).toBeLessThanOrEqual(BATCH);

      const history = await client.workflow.getHandle(workflowIdFor('orders')).fetchHistory();
      expect(history.events!.length).toBeLessThanOrEqual(15);
      console.log(
        `e2e backfill: ${ROWS} rows in ${secs.toFixed(1)}s including the ~30s heartbeat timeout after the kill; ` +
          `killed at ${atKill} committed rows; reprocessed after the kill: ${reprocessed} rows; history: ${history.events!.length} events`,
      );

      // Incremental: change 100 rows, add 50; `tidemark sync --wait` rewrites exactly those.
      const before = new Map((await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders')).map((r) => [r.id, r.x]));
      await sql(src.url, `UPDATE public.orders SET status = 'paid', updated_at = now() - interval '5 seconds' WHERE id % 2000 = 0`);
      await insertOrders(src.url, ROWS + 1, ROWS + 50, { start: new Date(Date.now() - 60_000).toISOString(), perTimestamp: 1_000_000 });
      await new Promise((r) => setTimeout(r, 1_100)); // past the 1s lag
      const sync = await runCli(['sync', 'orders', '--wait'], env, cwd);
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.stdout).toMatch(/completed: 150 rows/);
      const after = await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders');
      const rewritten = after.filter((r) => before.get(r.id) !== r.x).map((r) => Number(r.id));
      expect(rewritten.length).toBe(150);
      expect(rewritten.every((id) => id > ROWS || id % 2000 === 0)).toBe(true);
      expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));

      const runs = await runCli(['runs', 'orders'], env, cwd);
      expect(runs.code).toBe(0);
      expect(runs.stdout).toMatch(/sync[\s\S]*completed[\s\S]*backfill[\s\S]*completed/);
    } finally {
      second.child.kill('SIGTERM');
      await waitExit(second.child);
    }
  }, 240_000);
});
