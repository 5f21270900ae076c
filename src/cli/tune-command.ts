import type { Command } from 'commander';
import type { TuneInput } from '../workflows/validate-input';
import { parseBatchSize, parseRate } from './arg-parsers';
import { lazy } from './lazy';

export function registerTune(program: Command): void {
  program
    .command('tune <id>')
    .description("change the page size and/or rows-per-second limit of <id>'s running backfill, without restarting it")
    .option('--batch-size <n>', 'rows per page from the next page on', parseBatchSize)
    .option('--rate <rows-per-second>', 'rows per second for the whole run (all shards together)', parseRate)
    .action(async (id: string, opts: { batchSize?: number; rate?: number }, cmd: Command) => {
      if (opts.batchSize === undefined && opts.rate === undefined) cmd.error('error: give --batch-size and/or --rate');
      (await lazy('./context')).loadIntegration(cmd, id);
      const { connectClient, workflowIdFor } = await lazy('../client');
      const client = await connectClient();
      try {
        const handle = client.workflow.getHandle(workflowIdFor(id));
        const d = await handle.describe().catch(() => undefined);
        if (d?.status.name !== 'RUNNING' || d.type !== 'backfillWorkflow') {
          console.error(`${id}: no running backfill to tune (start one with \`tidemark backfill ${id}\`)`);
          process.exitCode = 1;
          return;
        }
        await handle.signal<[TuneInput]>('tune', { ...(opts.batchSize ? { batchSize: opts.batchSize } : {}), ...(opts.rate ? { rowsPerSecond: opts.rate } : {}) });
        const what = [opts.batchSize ? `batch size ${opts.batchSize}` : '', opts.rate ? `${opts.rate} rows/s` : ''].filter(Boolean).join(', ');
        console.log(`${id}: ${handle.workflowId} retuned to ${what}; applies from the next page`);
      } finally {
        await (await lazy('./close-client')).closeClient(client);
      }
    });
}
