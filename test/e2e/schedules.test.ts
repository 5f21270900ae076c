import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { createWorker } from '../../src/worker';
import { runCli } from '../helpers/cli';
import { digest, insertOrders, seedOrders, sql } from '../helpers/fixtures';
import { sleep, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

const QUEUE = 'e2e-schedules';
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
let env: NodeJS.ProcessEnv;
let worker: Worker;
let running: Promise<void>;

const yaml = (every: string, extra = '') =>
  'integrations:\n' +
  `  - id: orders\n    source: {kind: postgres, url: "\${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n` +
  `    sink: {kind: postgres, url: "\${DST_URL}", table: copy.orders, key: [id], create: true}\n    schedule: {every: ${every}}\n` +
  extra;
const write = (text: string) => writeFileSync(join(cwd, 'tidemark.yaml'), text);
const cli = (...args: string[]) => runCli(args, env, cwd);
const runs = () => sql<{ run_id: string; status: string; rows_committed: string; start_cursor: string | null; end_cursor: string | null }>(
  dst.url,
  `SELECT run_id, status, rows_committed::text, start_cursor::text, end_cursor::text FROM tidemark.runs WHERE integration = 'orders' ORDER BY started_at`,
).catch(() => []);
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await fn();
    if (ok(v)) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('sch_src'), createTestDatabase('sch_dst')]);
  await seedOrders(src.url, { rows: 3000 });
  cwd = mkdtempSync(join(tmpdir(), 'tm-sch-'));
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: QUEUE, SRC_URL: src.url, DST_URL: dst.url };
  const config = parseConfigText(yaml('1h'), 'tidemark.yaml');
  worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: QUEUE,
    config: () => config,
    env,
    worker: { workflowBundle: await workflowBundle() },
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('Temporal Schedules (dev server)', () => {
  it('apply is idempotent, updates a changed interval, reports and prunes orphans', async () => {
    write(yaml('1h'));
    expect((await cli('schedule', 'apply')).stdout).toBe('orders: created (every 1h, overlap skip)\n');
    expect((await cli('schedule', 'apply')).stdout).toBe('orders: unchanged (every 1h, overlap skip)\n');
    write(yaml('2h', '    batchSize: 1000\n'));
    expect((await cli('schedule', 'apply')).stdout).toBe('orders: updated (every 1h → every 2h)\n');
    const list = await cli('schedule', 'list');
    expect(list.stdout).toMatch(/^orders: every 2h, overlap SKIP\n {2}actions 0, skipped \(overlap\) 0, running none\n {2}next \d{4}-/);
    write(yaml('2h').replace('id: orders', 'id: other'));
    expect((await cli('schedule', 'apply')).stdout).toMatch(/other: created[\s\S]*orders: orphaned \(not in the config; `tidemark schedule apply --prune` deletes it\)/);
    expect((await cli('schedule', 'apply', '--prune')).stdout).toMatch(/orders: deleted/);
    expect((await cli('schedule', 'delete', 'other')).stdout).toBe('other: deleted\n');
    expect((await cli('schedule', 'list')).stdout).toMatch(/no tidemark schedules/);
  });

  it('trigger starts scheduled runs; each starts where the previous ended (no gap, no overlap)', async () => {
    write(yaml('1h'));
    await cli('schedule', 'apply');
    expect((await cli('schedule', 'trigger', 'orders')).stdout).toMatch(/orders: triggered/);
    const [first] = await until(runs, (r) => r.length === 1 && r[0]!.status === 'completed', 'the first scheduled run');
    expect(first!.run_id).toMatch(/^tidemark-orders-scheduled-/);
    expect(first!.rows_committed).toBe('3000');
    await insertOrders(src.url, 3001, 3050, { start: '2025-01-01', perTimestamp: 1_000_000 });
    await cli('schedule', 'trigger', 'orders');
    const all = await until(runs, (r) => r.length === 2 && r[1]!.status === 'completed', 'the second scheduled run');
    expect(all[1]!.start_cursor).toBe(first!.end_cursor);
    expect(all[1]!.rows_committed).toBe('50');
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect((await cli('schedule', 'list')).stdout).toMatch(/actions 2, skipped \(overlap\) 0, running none[\s\S]*ran .* tidemark-orders-scheduled-/);
  });

  it('a paused schedule starts nothing; unpause resumes it', async () => {
    write(yaml('1s'));
    await cli('schedule', 'apply');
    const before = (await until(runs, (r) => r.length >= 3, 'a run every second')).length;
    expect((await cli('schedule', 'pause', 'orders', '--note', 'maintenance')).stdout).toBe('orders: paused\n');
    await sleep(1500); // a run may have been starting at the moment of the pause
    const paused = (await runs()).length;
    await sleep(3500);
    expect((await runs()).length).toBe(paused);
    expect((await cli('schedule', 'list')).stdout).toMatch(/orders: every 1s, overlap SKIP, PAUSED \(maintenance\)/);
    expect((await cli('schedule', 'apply')).stdout).toMatch(/orders: unchanged \(every 1s, overlap skip \(paused: maintenance; unpause with/);
    await cli('schedule', 'unpause', 'orders');
    await until(runs, (r) => r.length >= paused + 2, 'runs after unpause');
    expect(before).toBeGreaterThanOrEqual(3);
    await cli('schedule', 'delete', 'orders');
    const all = await runs();
    expect(all.every((r) => r.status === 'completed' || r.status === 'running' || r.status === 'skipped')).toBe(true);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });
});
