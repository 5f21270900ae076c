import { Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import { temporalSettings } from '../config/temporal-env';
import { createWorker } from '../worker';
import { loadCliConfig } from './context';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker on the task queue until SIGINT/SIGTERM (graceful: the running batch commits)')
    .action(async (_opts: unknown, cmd: Command) => {
      const config = loadCliConfig(cmd);
      const s = temporalSettings();
      // Prometheus metrics of the worker runtime (task latencies, slots, polls), when asked for.
      const metrics = process.env.TIDEMARK_METRICS_ADDRESS;
      if (metrics) {
        Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } } });
        console.log(`tidemark worker: Prometheus metrics on http://${metrics}/metrics`);
      }
      const worker = await createWorker({ config: () => config });
      console.log(`tidemark worker: ${config.integrations.length} integration(s) on task queue "${s.taskQueue}" at ${s.address} (namespace ${s.namespace})`);
      // The Temporal runtime turns SIGINT/SIGTERM into worker.shutdown(): activities stop at a batch boundary.
      await worker.run();
      console.log('tidemark worker: stopped');
    });
}
