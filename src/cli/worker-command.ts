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
      const worker = await createWorker({ config: () => config });
      console.log(`tidemark worker: ${config.integrations.length} integration(s) on task queue "${s.taskQueue}" at ${s.address} (namespace ${s.namespace})`);
      // The Temporal runtime turns SIGINT/SIGTERM into worker.shutdown(): activities stop at a batch boundary.
      await worker.run();
      console.log('tidemark worker: stopped');
    });
}
