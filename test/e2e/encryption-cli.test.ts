import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../src/client';
import { loadConfig } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { createWorker } from '../../src/worker';
import { runCli } from '../helpers/cli';
import { seedOrders } from '../helpers/fixtures';
import { workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

/**
 * A CLI whose TIDEMARK_ENCRYPTION_KEY is not the workers' (found by an acceptance run: `--wait` waited for good,
 * `cancel` did nothing, `status` said RUNNING), and a CLI with no key reading an encrypted result.
 */
const QUEUE = 'encryption-cli';
const WORKER_KEY = randomBytes(32).toString('base64');
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
let env: NodeJS.ProcessEnv;
let worker: Worker;
let running: Promise<void>;
let client: Client;

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('enc_cli_src'), createTestDatabase('enc_cli_dst')]);
  await seedOrders(src.url, { rows: 2000 });
  cwd = mkdtempSync(join(tmpdir(), 'tm-enc-'));
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    'integrations:\n  - id: orders\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.orders, key: [id], create: true}\n',
  );
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: QUEUE, SRC_URL: src.url, DST_URL: dst.url };
  const config = loadConfig(undefined, cwd);
  worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: QUEUE,
    config: () => config,
    env: { ...env, TIDEMARK_ENCRYPTION_KEY: WORKER_KEY },
    worker: { workflowBundle: await workflowBundle() },
  });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await client?.connection.close();
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('a CLI and workers with different encryption keys', () => {
  it('another key: --wait ends as stuck with what to do; status and cancel say so too', async () => {
    const other = { ...env, TIDEMARK_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const wait = await runCli(['sync', 'orders', '--wait'], other, cwd);
    expect(wait.code).toBe(1);
    expect(wait.stdout).toMatch(/started syncWorkflow tidemark-orders/);
    expect(wait.stderr).toMatch(/^stuck: the workers fail this workflow's task \(attempt \d+\): .*It cannot run or see a cancel until that is fixed/m);
    expect(wait.stderr).toContain('temporal workflow terminate --workflow-id tidemark-orders');
    const status = await runCli(['status', 'orders'], other, cwd);
    expect(status.stdout).toMatch(/orders: syncWorkflow tidemark-orders RUNNING\n {2}stuck {6}the workers fail this workflow's task/);
    const cancel = await runCli(['cancel', 'orders'], other, cwd);
    expect(cancel.stderr).toMatch(/orders: the cancel cannot take effect yet: the workers fail this workflow's task/);
    await client.workflow.getHandle(workflowIdFor('orders')).terminate('test: keys differ');
  }, 180_000);

  it('no key here: a completed run says it completed, and that its result needs the key to be read', async () => {
    const r = await runCli(['sync', 'orders', '--wait'], env, cwd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/completed; its result is encrypted and this CLI cannot read it \(.*\): set TIDEMARK_ENCRYPTION_KEY to the workers' key/);
  }, 120_000);
});
