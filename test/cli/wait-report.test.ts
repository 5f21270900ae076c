import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/cli/run-commands';
import { loadConfig } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { createWorker } from '../../src/worker';
import { runCli } from '../helpers/cli';
import { digest, seedOrders } from '../helpers/fixtures';
import { sleep, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

const ROWS = 2_000;
const QUEUE = 'wait-report';
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
let env: NodeJS.ProcessEnv;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('wait_src'), createTestDatabase('wait_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  cwd = mkdtempSync(join(tmpdir(), 'tm-wait-'));
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    'integrations:\n  - id: orders\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.orders, key: [id], create: true}\n    batchSize: 500\n',
  );
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: QUEUE, SRC_URL: src.url, DST_URL: dst.url };
  const config = loadConfig(undefined, cwd);
  worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: QUEUE,
    config: () => config,
    env,
    afterBatch: () => sleep(300), // 4 pages: the run takes at least 1.2 s, so the duration printed means something
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

describe('--wait reports how long the run took and its rate', () => {
  it('backfill --wait prints rows, duration and rows/s on completion', async () => {
    const r = await runCli(['backfill', 'orders', '--wait'], env, cwd);
    expect(r.code, r.stderr).toBe(0);
    const m = /completed: 2000 rows in (\d+\.\d) s \(([\d,]+) rows\/s\), cursor \[".*"\], done/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const secs = Number(m![1]);
    const rate = Number(m![2]!.replace(/,/g, ''));
    expect(secs).toBeGreaterThanOrEqual(1.2);
    expect(secs).toBeLessThan(120);
    // The rate is rows over that duration (the duration is printed rounded to 0.1 s).
    expect(rate).toBeGreaterThanOrEqual(Math.floor(ROWS / (secs + 0.05)));
    expect(rate).toBeLessThanOrEqual(Math.ceil(ROWS / (secs - 0.05)));
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('sync --wait with nothing new reports 0 rows and a rate of 0', async () => {
    const r = await runCli(['sync', 'orders', '--wait'], env, cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/completed: 0 rows in \d+\.\d s \(0 rows\/s\), cursor \[".*"\], done/);
  });

  it('formats long durations in minutes and hours', () => {
    expect([formatDuration(4.04), formatDuration(59.94), formatDuration(245), formatDuration(7385)]).toEqual(['4.0 s', '59.9 s', '4 min 05 s', '2 h 03 min']);
  });
});
