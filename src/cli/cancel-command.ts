import type { Command } from 'commander';
import { lazy } from './lazy';

export function registerCancel(program: Command): void {
  program
    .command('cancel <id>')
    .description('stop the running workflows of <id> (manual, cron, scheduled) at the next batch boundary; the checkpoint stays consistent')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { connectClient, runningWorkflowsOf } = await lazy('../client');
      const { loadIntegration } = await lazy('./context');
      const { integration } = loadIntegration(cmd, id);
      const client = await connectClient();
      try {
        // Runs the state database has as running: a workflow started under an id of the operator's choosing.
        const runKeys = await (await lazy('../db/running-run-keys-at')).runningRunKeysOf(integration);
        const running = await runningWorkflowsOf(client, id, runKeys);
        if (!running.length) {
          console.error(`${id}: no running workflow to cancel`);
          process.exitCode = 1;
          return;
        }
        for (const handle of running) {
          await handle.cancel();
          console.log(`${id}: cancellation requested for ${handle.workflowId}; it stops after the batch in flight commits`);
          const { stuckTask, taskTaken } = await lazy('./stuck-task');
          const stuck = await stuckTask(client, handle);
          if (stuck) console.error(`${id}: the cancel cannot take effect yet: ${stuck}`);
          const taken = stuck ? { taken: true } : await taskTaken(handle);
          if (!taken.taken) {
            console.error(
              `${id}: no worker has taken the cancel of ${handle.workflowId} within 15 s: is any worker running on task queue ${taken.taskQueue}? ` +
                'The workflow stays RUNNING until one starts (`tidemark worker`); it then ends cancelled, and the pages committed before stay',
            );
          }
        }
      } finally {
        await (await lazy('./close-client')).closeClient(client);
      }
    });
}
