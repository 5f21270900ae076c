import type { Command } from 'commander';
import { lazy } from './lazy';

export function registerRuns(program: Command): void {
  program
    .command('runs <id>')
    .description('the run history of <id> (table tidemark.runs)')
    .option('--limit <n>', 'how many runs', (v) => Number(v), 20)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { limit: number; json?: boolean }, cmd: Command) => {
      const { loadIntegration, stateUrl } = await lazy('./context');
      const { integration } = loadIntegration(cmd, id);
      const { openStateSession } = await lazy('../db/state-session');
      const { closeQuietly } = await lazy('../pg/connect');
      const { listRuns } = await lazy('../db/state');
      const db = await openStateSession(stateUrl(integration), { applicationName: 'tidemark-cli' });
      try {
        const runs = await listRuns(db, id, opts.limit);
        if (opts.json) return console.log(JSON.stringify(runs, null, 2));
        if (!runs.length) return console.log(`${id}: no runs yet`);
        console.table(
          runs.map((r) => ({
            started: r.started_at.slice(0, 19),
            kind: r.kind,
            status: r.status,
            attempts: Number(r.attempts),
            read: Number(r.rows_read),
            committed: Number(r.rows_committed),
            written: Number(r.rows_written),
            rejected: Number(r.rows_rejected),
            pages: Number(r.pages),
            end_cursor: r.end_cursor ?? '',
            error: r.error ?? '',
            warnings: r.warnings.join('; '),
          })),
        );
      } finally {
        await closeQuietly(db);
      }
    });
}
