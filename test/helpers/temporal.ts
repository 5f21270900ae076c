import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { RunningDevServer } from '../../src/dev';
import { devServerForTests } from '../setup/database';
import type { Config } from '../../src/config';
import { createWorker, workflowsPath, type CreateWorkerOptions } from '../../src/worker';

const quiet = { log: () => undefined, info: () => undefined, warn: () => undefined, error: console.error, debug: () => undefined, trace: () => undefined };

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file (webpack takes a few seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quiet as never });
  return bundle;
}

let queues = 0;
export function uniqueQueue(prefix = 'q'): string {
  return `${prefix}-${process.pid}-${++queues}`;
}

/** A real worker on the test environment's server, with the given config and URL env vars. */
export async function testWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  config: Config,
  vars: NodeJS.ProcessEnv,
  extra: Partial<CreateWorkerOptions> = {},
): Promise<Worker> {
  return await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    config: () => config,
    env: vars,
    worker: { workflowBundle: await workflowBundle() },
    ...extra,
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A dev server (as `tidemark dev` starts it), a client and a real worker on it: for what the time-skipping server lacks. */
export interface DevWorkerStack {
  server: RunningDevServer;
  client: Client;
  stop(): Promise<void>;
}

export async function startDevWorkerStack(o: { taskQueue: string; config: () => Config; env: NodeJS.ProcessEnv }): Promise<DevWorkerStack> {
  const server = await devServerForTests();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const worker = await createWorker({ connection: await NativeConnection.connect({ address: server.address }), taskQueue: o.taskQueue, config: o.config, env: o.env, worker: { workflowBundle: await workflowBundle() } });
  const running = worker.run();
  return {
    server,
    client,
    stop: async () => {
      await client.connection.close();
      worker.shutdown();
      await running;
      await server.stop();
    },
  };
}
