import { extname, join } from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities/create-activities';
import { SourceSlots } from './activities/source-slots';
import { dataConverterFromEnv } from './codec/aes-gcm-codec';
import { temporalConnectionOptions, temporalUnreachable } from './config/temporal-connection';
import { temporalSettings } from './config/temporal-env';
import { prebuiltBundle, type PrebuiltBundle } from './dev/workflow-bundle';

export { instanceMetricsFromEnv } from './metrics/metrics-server';

/** The workflows module, next to this file (index.ts under tsx/vitest, index.js from dist). */
export const workflowsPath = join(__dirname, 'workflows', `index${extname(__filename)}`);

/**
 * Where the worker's workflow code comes from: the bundle `npm run build` wrote, when this is the compiled
 * worker (dist/) and the bundle is current; else `workflowsPath`, bundled with webpack at start. Sources
 * (tsx, vitest) never use a prebuilt bundle: it could hold older code than they do.
 */
export function workflowCode(encrypted: boolean): PrebuiltBundle {
  if (extname(__filename) !== '.js') return { reason: 'running from the TypeScript sources' };
  return prebuiltBundle(__dirname, encrypted ? 'encrypted' : 'plain');
}

export interface CreateWorkerOptions extends ActivityDeps {
  connection?: NativeConnection;
  taskQueue?: string;
  namespace?: string;
  /** Extra Worker options (tests: a prebuilt bundle, concurrency limits). */
  worker?: Partial<WorkerOptions>;
  /** Activities (runs or shards) this worker executes at once; default 8. */
  maxActivities?: number;
  /**
   * Runs (and shards) this worker executes at once (issue #14's per-worker `maxConcurrentRuns`): the lower of
   * it and maxActivities is the worker's activity slot count. Tasks beyond it stay in Temporal's queue, where
   * another worker takes them or, with task-queue fairness, another instance's task is served first; a gate
   * inside the worker would have taken them off the queue already.
   */
  maxConcurrentRuns?: number;
  /** Open source connections this worker allows at once (runs beyond it wait, heartbeating); default unlimited. */
  maxSourceConnections?: number;
}

/** How long a stopping worker lets the page in flight finish before it gives it up (see createWorker). */
export const SHUTDOWN_FORCE_MS = 120_000;

/** How long `tidemark worker` waits for a Temporal server that does not answer yet (started together, e.g. by compose). */
export const WORKER_CONNECT_WAIT_MS = 60_000;

/**
 * The worker's connection, waiting up to `waitMs` for a server that is not up yet (`onWait` once, with why), then
 * failing with what to do: the SDK's own error is a Rust transport dump (an acceptance run).
 */
export async function connectWorker(env: NodeJS.ProcessEnv = process.env, waitMs = WORKER_CONNECT_WAIT_MS, onWait?: (why: string) => void): Promise<NativeConnection> {
  const s = temporalSettings(env);
  const deadline = Date.now() + waitMs;
  for (let told = false; ; ) {
    try {
      return await NativeConnection.connect(temporalConnectionOptions(env));
    } catch (err) {
      // "tonic::transport::Error(Transport, ConnectError(…, Connection refused …))": the last reason is the one to show.
      const why = /Connection refused|connection refused/.test(String(err)) ? 'connection refused' : (err as Error).message.split('\n')[0]!.slice(0, 200);
      if (Date.now() >= deadline) throw temporalUnreachable(s.address, why, err);
      if (!told) onWait?.(`waiting for Temporal at ${s.address} (${why}), up to ${Math.round(waitMs / 1000)} s`);
      told = true;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const settings = temporalSettings(opts.env);
  const connection = opts.connection ?? (await NativeConnection.connect(temporalConnectionOptions(opts.env ?? process.env)));
  const { worker, connection: _c, taskQueue, namespace, maxActivities, maxConcurrentRuns, maxSourceConnections, ...deps } = opts;
  if (maxSourceConnections !== undefined) deps.sourceSlots ??= new SourceSlots(maxSourceConnections);
  const dataConverter = dataConverterFromEnv(opts.env ?? process.env);
  const code = worker?.workflowBundle || worker?.workflowsPath ? undefined : workflowCode(!!dataConverter);
  return await Worker.create({
    connection,
    namespace: namespace ?? settings.namespace,
    taskQueue: taskQueue ?? settings.taskQueue,
    ...(code?.codePath ? { workflowBundle: { codePath: code.codePath } } : worker?.workflowBundle ? {} : { workflowsPath }),
    activities: createActivities(deps),
    // Encrypted payloads when TIDEMARK_ENCRYPTION_KEY is set (clients need the same key).
    dataConverter,
    // Graceful shutdown (SIGINT/SIGTERM): running activities are cancelled at once, finish the page in
    // flight (it commits with its checkpoint) and fail their attempt as retryable; another worker resumes.
    shutdownGraceTime: 0,
    // …bounded: a page blocked for long (a lock held for hours, an API that stalls) is abandoned after this, its
    // transaction rolled back as the process exits; the attempt resumes on another worker from the checkpoint.
    shutdownForceTime: SHUTDOWN_FORCE_MS,
    maxConcurrentActivityTaskExecutions: activitySlots(maxActivities, maxConcurrentRuns),
    // Progress in the UI and `tidemark status` comes from heartbeat details: send them every ~2 s,
    // not the default 0.8 x heartbeat timeout; this also delivers a cancel within a couple of seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
    ...worker,
  });
}

/** The worker's activity slots: the lower of maxActivities (default 8) and maxConcurrentRuns when given. */
export function activitySlots(maxActivities: number | undefined, maxConcurrentRuns: number | undefined): number {
  return Math.min(maxActivities ?? 8, maxConcurrentRuns ?? Infinity);
}
