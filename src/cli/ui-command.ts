import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { wholeNumber } from './arg-parsers';
import { lazy } from './lazy';

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('an operator web page: every integration at a glance, runs, progress, dead letters, actions (binds to 127.0.0.1 unless --host)')
    .option('--port <p>', 'port to listen on', wholeNumber(0, 65535), 8080)
    .option('--host <h>', 'address to bind; anything but localhost requires TIDEMARK_UI_TOKEN', '127.0.0.1')
    .option('--temporal-ui <url>', 'base URL of the Temporal UI the run links point to (env TEMPORAL_UI; default http://localhost:8233)')
    .action(async (opts: { port: number; host: string; temporalUi?: string }, cmd: Command) => {
      const token = process.env.TIDEMARK_UI_TOKEN || undefined;
      const { checkBinding, createUiServer } = await lazy('../ui/server');
      checkBinding(opts.host, token); // refuse before connecting to anything
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const s = (await lazy('../config/temporal-env')).temporalSettings();
      const { connectClient } = await lazy('../client');
      // The page is useful without Temporal (the databases' view); actions then say what is missing.
      let temporal: Client | undefined;
      try {
        temporal = await connectClient();
      } catch (err) {
        console.error(`tidemark ui: ${(err as Error).message}; serving the databases' view only, actions are refused`);
      }
      const ui = await createUiServer({ config, temporal, taskQueue: s.taskQueue, namespace: s.namespace, host: opts.host, port: opts.port, token, ...(opts.temporalUi ? { temporalUiUrl: opts.temporalUi } : {}) });
      console.log(`tidemark ui: ${ui.url} (${config.integrations.length} integration(s)${token ? '; token required' : ''})`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await ui.close();
      await temporal?.connection.close();
      console.log('tidemark ui: stopped');
    });
}
