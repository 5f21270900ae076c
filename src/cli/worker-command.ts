import { Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import { wholeNumber } from './arg-parsers';
import { temporalSettings } from '../config/temporal-env';
import { createWorker } from '../worker';
import { loadCliConfig } from './context';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker on the task queue until SIGINT/SIGTERM (graceful: the running batch commits)')
    .option('--max-activities <n>', 'runs or shards this worker executes at once (env TIDEMARK_MAX_ACTIVITIES; default 8)', positiveInt)
    .option('--max-source-connections <n>', 'source connections this worker opens at once; more runs wait (env TIDEMARK_MAX_SOURCE_CONNECTIONS; default unlimited)', positiveInt)
    .action(async (opts: { maxActivities?: number; maxSourceConnections?: number }, cmd: Command) => {
      const maxActivities = opts.maxActivities ?? envInt('TIDEMARK_MAX_ACTIVITIES');
      const maxSourceConnections = opts.maxSourceConnections ?? envInt('TIDEMARK_MAX_SOURCE_CONNECTIONS');
      const config = loadCliConfig(cmd);
      const s = temporalSettings();
      // Prometheus metrics of the worker runtime (task latencies, slots, polls), when asked for.
      const metrics = process.env.TIDEMARK_METRICS_ADDRESS;
      if (metrics) {
        Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } } });
        console.log(`tidemark worker: Prometheus metrics on http://${metrics}/metrics`);
      }
      const worker = await createWorker({ config: () => config, maxActivities, maxSourceConnections });
      const limits = `at most ${maxActivities ?? 8} activities, ${maxSourceConnections ?? 'unlimited'} source connections`;
      console.log(`tidemark worker: ${config.integrations.length} integration(s) on task queue "${s.taskQueue}" at ${s.address} (namespace ${s.namespace}; ${limits})`);
      // The Temporal runtime turns SIGINT/SIGTERM into worker.shutdown(): activities stop at a batch boundary.
      await worker.run();
      console.log('tidemark worker: stopped');
    });
}

const positiveInt = wholeNumber(1, 1000);

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  try {
    return positiveInt(v);
  } catch {
    throw new Error(`${name}=${v}: must be a whole number from 1 to 1000`);
  }
}
