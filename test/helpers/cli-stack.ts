import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { createWorker, type CreateWorkerOptions } from '../../src/worker';
import { seedOrders } from './fixtures';
import { workflowBundle } from './temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

/** The `orders` integration of the CLI tests: public.orders into copy.orders, by (updated_at, id). */
export const ORDERS_YAML =
  'integrations:\n  - id: orders\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
  '    sink: {kind: postgres, url: "${DST_URL}", table: copy.orders, key: [id], create: true}\n';

/** What a test file of the CLI drives: the dev server, a source and a target database, a config folder, a worker. */
export interface CliStack {
  server: RunningDevServer;
  src: TestDatabase;
  dst: TestDatabase;
  /** the folder with tidemark.yaml, where the CLI runs */
  cwd: string;
  /** the CLI's environment (the worker's too, plus `workerEnv`) */
  env: NodeJS.ProcessEnv;
  client: Client;
  stop(): Promise<void>;
}

/**
 * One per test file (graphile-worker style: a database of its own per file): seeds `rows` orders, writes `yaml`
 * (`ORDERS_YAML` and what a file adds), and runs a worker in this process on `queue`.
 */
export async function startCliStack(opts: { name: string; queue: string; rows: number; yaml: string; workerEnv?: NodeJS.ProcessEnv; worker?: Partial<CreateWorkerOptions> }): Promise<CliStack> {
  const [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase(`${opts.name}_src`), createTestDatabase(`${opts.name}_dst`)]);
  await seedOrders(src.url, { rows: opts.rows });
  const cwd = mkdtempSync(join(tmpdir(), `tm-${opts.name}-`));
  writeFileSync(join(cwd, 'tidemark.yaml'), opts.yaml);
  const env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: opts.queue, SRC_URL: src.url, DST_URL: dst.url };
  const config = loadConfig(undefined, cwd);
  const worker: Worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: opts.queue,
    config: () => config,
    env: { ...env, ...opts.workerEnv },
    worker: { workflowBundle: await workflowBundle() },
    ...opts.worker,
  });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  return {
    server,
    src,
    dst,
    cwd,
    env,
    client,
    async stop() {
      worker.shutdown();
      await running;
      await client.connection.close();
      await server.stop();
      await Promise.all([src.drop(), dst.drop()]);
    },
  };
}
