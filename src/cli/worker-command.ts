import { hostname } from 'node:os';
import { relative } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { Command } from 'commander';
import { refuse, wholeNumber } from './arg-parsers';
import { lazy } from './lazy';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker on the task queue until SIGINT/SIGTERM (graceful: the running batch commits)')
    .option('--max-activities <n>', 'runs or shards this worker executes at once (env TIDEMARK_MAX_ACTIVITIES; default 8)', positiveInt)
    .option('--max-concurrent-runs <n>', 'runs (and shards) this worker executes at once; more wait in Temporal\'s queue for another worker (env TIDEMARK_MAX_CONCURRENT_RUNS; default: --max-activities)', positiveInt)
    .option('--max-source-connections <n>', 'source connections this worker opens at once; more runs wait (env TIDEMARK_MAX_SOURCE_CONNECTIONS; default unlimited)', positiveInt)
    .addHelpText(
      'after',
      '\nMemory: bin/tidemark.js starts the worker as its child with --max-semi-space-size=2, --max-old-space-size=' +
        '$TIDEMARK_WORKER_HEAP_MB (default 1024, or node\'s own limit when lower; a page of 100000 rows of 1 KB through a mapping needs ~600 MB; a higher cap also lets the heap grow more) and MALLOC_ARENA_MAX=2, and ' +
        'passes SIGINT/SIGTERM on. A heap flag in NODE_OPTIONS runs the worker in place with your settings instead. ' +
        'The compiled worker loads the workflow bundle `npm run build` wrote (dist/workflow-bundle.js).\n' +
        'Metrics: TIDEMARK_METRICS_ADDRESS=host:port serves the SDK\'s runtime metrics; TIDEMARK_INSTANCE_METRICS_ADDRESS=host:port ' +
        'serves per-integration and per-instance gauges (last success, lag, failures, rows; read from the state databases, cached 10 s) at /metrics.',
    )
    .action(async (opts: { maxActivities?: number; maxConcurrentRuns?: number; maxSourceConnections?: number }, cmd: Command) => {
      const maxActivities = opts.maxActivities ?? envInt('TIDEMARK_MAX_ACTIVITIES');
      const maxConcurrentRuns = opts.maxConcurrentRuns ?? envInt('TIDEMARK_MAX_CONCURRENT_RUNS');
      const maxSourceConnections = opts.maxSourceConnections ?? envInt('TIDEMARK_MAX_SOURCE_CONNECTIONS');
      const config = (await lazy('./context')).loadCliConfig(cmd);
      // A module that cannot load fails every run of its integration: refused before the worker starts, as a bad key is.
      const { moduleProblems } = await lazy('./module-problems');
      const modules = config.integrations.flatMap((it) => moduleProblems(it, { load: true }));
      if (modules.length) refuse(`error: ${modules.join('\n')}`);
      // A variable the config names and this worker lacks fails every run of its integration: said now, not at each run
      // (the worker still starts: the other integrations run, and a run that lacks one names it).
      const { describeUnset, unsetEnvRefs } = await lazy('../config/unset-env-refs');
      for (const it of config.integrations) {
        const unset = unsetEnvRefs(it, process.env);
        if (unset.length) console.error(`tidemark worker: warning: not set in this worker's environment, so every run of it fails until the worker restarts with them: ${describeUnset(it.id, unset)}`);
      }
      const s = (await lazy('../config/temporal-env')).temporalSettings();
      const { Runtime } = await lazy('@temporalio/worker');
      const { activitySlots, connectWorker, createWorker, instanceMetricsFromEnv, SHUTDOWN_FORCE_MS } = await lazy('../worker');
      // Prometheus metrics of the worker runtime (task latencies, slots, polls), when asked for.
      const metrics = process.env.TIDEMARK_METRICS_ADDRESS;
      if (metrics) {
        Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } } });
        console.log(`tidemark worker: Prometheus metrics on http://${metrics}/metrics`);
      }
      console.log(`tidemark worker: ${await memorySettings()}`);
      // Started by bin/tidemark.js's launcher: the worker identity (in the UI and in history) names the process
      // that was started, the one a process manager or an operator sees and signals.
      const launcher = process.env.TIDEMARK_LAUNCHER_PID;
      const identity = launcher && launcher === String(process.ppid) ? { identity: `${launcher}@${hostname()}` } : {};
      const connection = await connectWorker(process.env, undefined, (why) => console.error(`tidemark worker: ${why}`));
      // How long a stop waits for the page in flight (TIDEMARK_WORKER_STOP_SECONDS; default SHUTDOWN_FORCE_MS).
      const stopMs = (envInt('TIDEMARK_WORKER_STOP_SECONDS', 86_400) ?? SHUTDOWN_FORCE_MS / 1000) * 1000;
      const worker = await createWorker({ config: () => config, connection, maxActivities, maxConcurrentRuns, maxSourceConnections, worker: { ...identity, shutdownForceTime: stopMs } });
      // Per-instance gauges on a port of their own (the SDK's exporter owns TIDEMARK_METRICS_ADDRESS).
      // With a Temporal client of their own (made at the first scrape): a paused schedule reads paused (an acceptance run: ok).
      let client: Promise<import('@temporalio/client').Client> | undefined;
      const schedules = () =>
        (client ??= lazy('../client')
          .then((c) => c.connectClient())
          .catch((err: unknown) => {
            client = undefined; // asked again at the next reading
            throw err;
          }));
      const instanceMetrics = await instanceMetricsFromEnv(config, process.env, schedules);
      if (instanceMetrics) console.log(`tidemark worker: instance metrics on ${instanceMetrics.url}`);
      const limits = `at most ${activitySlots(maxActivities, maxConcurrentRuns)} activities, ${maxSourceConnections ?? 'unlimited'} source connections`;
      console.log(`tidemark worker: ${config.integrations.length} integration(s) on task queue "${s.taskQueue}" at ${s.address} (namespace ${s.namespace}; ${limits})`);
      // The Temporal runtime turns SIGINT/SIGTERM into worker.shutdown(): activities stop at a batch boundary.
      // When the stop came (the runtime turns the signals into worker.shutdown() itself): a failure of run() that long
      // after it is the bound giving up the page in flight (the SDK then also reports the worker still in use).
      let stoppedAt: number | undefined;
      // Gone after the first signal, so a second one finds only the SDK's handling, as before (the review).
      const noteStop = () => {
        stoppedAt ??= Date.now();
        process.off('SIGINT', noteStop);
        process.off('SIGTERM', noteStop);
      };
      process.on('SIGINT', noteStop);
      process.on('SIGTERM', noteStop);
      try {
        await worker.run();
      } catch (err) {
        const forced = (err as Error).name === 'GracefulShutdownPeriodExpiredError' || (stoppedAt !== undefined && Date.now() - stoppedAt >= stopMs - 1_000);
        if (!forced) throw err;
        // The page in flight was blocked past the bound: given up, rolled back when this process exits.
        // Exit now: the given-up page still holds its connection, which keeps the process alive; exiting closes it,
        // and PostgreSQL rolls its transaction back.
        const msg = `tidemark worker: the page in flight did not finish within ${stopMs / 1000} s of the stop (a lock? a stalled API?): given up, its transaction rolls back, and another worker resumes from the checkpoint\n`;
        await new Promise<void>((resolve) => process.stderr.write(msg, () => resolve()));
        process.exit(1);
      } finally {
        await instanceMetrics?.close();
        await client?.then((c) => c.connection.close()).catch(() => undefined);
        await connection.close().catch(() => undefined);
      }
      console.log('tidemark worker: stopped');
    });
}

/** What the worker runs with (bin/tidemark.js sets the heap flags and MALLOC_ARENA_MAX; see there). */
async function memorySettings(): Promise<string> {
  const { workflowCode } = await lazy('../worker');
  const { dataConverterFromEnv } = await lazy('../codec/aes-gcm-codec');
  const code = workflowCode(!!dataConverterFromEnv());
  const shown = code.codePath && (relative(process.cwd(), code.codePath).startsWith('..') ? code.codePath : relative(process.cwd(), code.codePath));
  const workflows = shown ? `workflows from the prebuilt bundle ${shown}` : `workflows bundled at start (${code.reason})`;
  const heapMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].filter((f) => /^--((max-old|max-semi|initial-old)-space-size|heap-growing-percent)/.test(f));
  return `${workflows}; V8 heap limit ${heapMb} MB (${flags.join(' ') || 'node defaults'}), MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'unset'}`;
}

const positiveInt = wholeNumber(1, 1000);

function envInt(name: string, max = 1000): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  try {
    return max === 1000 ? positiveInt(v) : wholeNumber(1, max)(v);
  } catch {
    throw new Error(`${name}=${v}: must be a whole number from 1 to ${max}`);
  }
}
