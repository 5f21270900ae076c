import type { Command } from 'commander';
import { connectClient, workflowIdFor } from '../client';
import { loadIntegration } from './context';

export function registerCancel(program: Command): void {
  program
    .command('cancel <id>')
    .description('stop the running workflow of <id> at the next batch boundary; the checkpoint stays consistent')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      loadIntegration(cmd, id);
      const client = await connectClient();
      try {
        const handle = client.workflow.getHandle(workflowIdFor(id));
        const d = await handle.describe().catch(() => undefined);
        if (!d || d.status.name !== 'RUNNING') {
          console.error(`${id}: no running workflow (${workflowIdFor(id)}) to cancel`);
          process.exitCode = 1;
          return;
        }
        await handle.cancel();
        console.log(`${id}: cancellation requested for ${d.workflowId}; it stops after the batch in flight commits`);
      } finally {
        await client.connection.close();
      }
    });
}
