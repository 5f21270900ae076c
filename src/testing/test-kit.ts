import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import pg from 'pg';
import type { RunResult } from '../activities/types';
import type { Config } from '../config';
import { parseConfig } from '../load-config';

export type { Config };
import { listRuns, type RunRow } from '../db/state';
import { startEmbeddedPostgres, testServerExecutable, type RunningPostgres } from '../dev';
import { registerSearchAttributes, searchAttributesFor } from '../instances/search-attributes';
import { createWorker, type CreateWorkerOptions } from '../worker';
import { kitInstances, type KitInstances } from './kit-instances';

export { ScheduleNotPlayableError, type KitInstanceOptions, type ScheduledRun } from './kit-instances';

export interface TestKitOptions {
  /** The integrations under test: a parsed Config or the raw object you would write in tidemark.yaml. */
  config: Config | unknown;
  /** Values for `${NAME}` references in the config (the worker's environment in production). */
  env?: Record<string, string>;
  /** Extra worker options: activity hooks (afterBatch for fault injection), sources registered in code. */
  worker?: Partial<CreateWorkerOptions>;
}

export interface TestKit {
  /**
   * Adds an instance of a template (stored in the template's state database like `tidemark instances add`); its
   * runs are `kit.sync('<template>/<id>')`, `kit.backfill(…)` and `kit.runSchedule(…)`. No Schedule is created:
   * the test server has none.
   */
  addInstance: KitInstances['addInstance'];
  /**
   * Plays an `every` schedule (of an instance: the template's, with the instance's offset) `ticks` times: skips
   * time to each next tick and runs the sync its Schedule would start there. Cron schedules: startCron + skip.
   */
  runSchedule: KitInstances['runSchedule'];
  /** The time-skipping Temporal environment (env.client, env.sleep). */
  env: TestWorkflowEnvironment;
  /** Superuser URL of the kit's PostgreSQL (embedded, or DATABASE_URL when set). */
  adminUrl: string;
  taskQueue: string;
  /** Adds `${NAME}` values for the worker (e.g. URLs of databases made with createDatabase). */
  setEnv(vars: Record<string, string>): void;
  /** A fresh, empty database on the kit's PostgreSQL; returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  sync(integration: string): Promise<RunResult>;
  backfill(integration: string, input?: { from?: unknown; resume?: boolean }): Promise<RunResult>;
  /** Starts a cron workflow for the integration; advance it with `skip`. */
  startCron(integration: string, cron: string): Promise<{ workflowId: string; stop(): Promise<void> }>;
  /** Skips time on the test server (scheduled runs, timers, backoffs). */
  skip(duration: string | number): Promise<void>;
  /** The integration's run history (tidemark.runs in its sink database). */
  runs(integration: string, sinkUrl: string): Promise<RunRow[]>;
  teardown(): Promise<void>;
}

/**
 * Runs integrations through the real workflows and activities on Temporal's time-skipping test
 * server and a real PostgreSQL: what `tidemark/testing` offers to tests of your own integrations.
 * Set the worker's config with `config`, and `${…}` values with `env`.
 */
export async function createTestKit(opts: TestKitOptions): Promise<TestKit> {
  // Parsing is idempotent, so a Config that was parsed already passes through unchanged.
  const config = parseConfig(opts.config, 'test kit config');
  let postgres: RunningPostgres | undefined;
  const adminUrl = process.env.DATABASE_URL ?? (postgres = await startEmbeddedPostgres({})).url;
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: await testServerExecutable() } });
  // Workflows carry TidemarkInstance… as on a real server (this one records a start it refuses for an unknown attribute).
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  const taskQueue = `tidemark-kit-${randomBytes(4).toString('hex')}`;
  const databases: string[] = [];
  // The worker resolves `${NAME}` from this object at each run, so setEnv applies to the next run.
  const vars: Record<string, string> = { ...opts.env };
  const worker: Worker = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    config: () => config,
    env: vars,
    ...opts.worker,
  });
  const running = worker.run();
  let n = 0;
  const execute = (type: string, input: object) =>
    env.client.workflow.execute(type, {
      taskQueue,
      workflowId: `${taskQueue}-${type}-${++n}`,
      args: [input],
      typedSearchAttributes: searchAttributesFor((input as { integration: string }).integration),
    }) as Promise<RunResult>;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const instances = kitInstances(config, env, taskQueue, vars);
  return {
    ...instances,
    env,
    adminUrl,
    taskQueue,
    setEnv: (more) => void Object.assign(vars, more),
    async createDatabase(prefix = 'kit') {
      const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
      await admin(`CREATE DATABASE "${name}"`);
      databases.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    sync: (integration) => execute('syncWorkflow', { integration }),
    backfill: (integration, input = {}) => execute('backfillWorkflow', { integration, ...input }),
    async startCron(integration, cron) {
      const workflowId = `${taskQueue}-cron-${integration}`;
      const handle = await env.client.workflow.start('syncWorkflow', { taskQueue, workflowId, cronSchedule: cron, args: [{ integration }] });
      return { workflowId, stop: () => handle.terminate('test kit: cron stopped').then(() => undefined) };
    },
    skip: (duration) => env.sleep(duration as never),
    async runs(integration, sinkUrl) {
      const c = new pg.Client({ connectionString: sinkUrl });
      await c.connect();
      try {
        return await listRuns(c, integration, 1000);
      } finally {
        await c.end();
      }
    },
    async teardown() {
      worker.shutdown();
      await running.catch(() => undefined);
      await env.teardown();
      for (const name of databases) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      await postgres?.stop();
    },
  };
}

