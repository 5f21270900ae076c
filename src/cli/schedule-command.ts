import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { connectClient } from '../client';
import { temporalSettings } from '../config/temporal-env';
import { applySchedules, listSchedules, scheduleIdFor } from '../schedules';
import { loadCliConfig, loadIntegration } from './context';

async function withClient(fn: (client: Client) => Promise<void>): Promise<void> {
  const client = await connectClient();
  try {
    await fn(client);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new Error(`no such schedule: ${err.message}; create it with \`tidemark schedule apply\``, { cause: err });
    throw err;
  } finally {
    await client.connection.close();
  }
}

export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('Temporal Schedules, one per integration, from the config');

  schedule
    .command('apply')
    .description('create or update the schedules of the config (idempotent); --prune deletes those no longer in it')
    .option('--prune', 'delete tidemark schedules whose integration is gone from the config')
    .action(async (opts: { prune?: boolean }, cmd: Command) => {
      const config = loadCliConfig(cmd);
      await withClient(async (client) => {
        for (const r of await applySchedules(client, config, { taskQueue: temporalSettings().taskQueue, prune: opts.prune })) {
          console.log(`${r.integration}: ${r.outcome} (${r.detail})`);
        }
      });
    });

  schedule
    .command('list')
    .description('the schedules with their spec, pause state, next runs, actions taken and skipped')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const views = await listSchedules(client);
        if (opts.json) return console.log(JSON.stringify(views, null, 2));
        if (!views.length) return console.log('no tidemark schedules: `tidemark schedule apply` creates them from the config');
        for (const v of views) {
          console.log(`${v.integration}: ${v.spec}, overlap ${v.overlap}${v.paused ? `, PAUSED${v.note ? ` (${v.note})` : ''}` : ''}`);
          console.log(`  actions ${v.actions}, skipped (overlap) ${v.skippedOverlap}, running ${v.running.length ? v.running.join(', ') : 'none'}`);
          console.log(`  next ${v.nextRuns.join(', ') || '-'}`);
          for (const r of v.recent) console.log(`  ran ${r.scheduledAt} ${r.workflowId}`);
        }
      });
    });

  const one = (name: string, description: string, fn: (client: Client, id: string, opts: { note?: string }) => Promise<string>) =>
    schedule
      .command(`${name} <id>`)
      .description(description)
      .option('--note <text>', 'a note kept on the schedule (pause)')
      .action(async (id: string, opts: { note?: string }, cmd: Command) => {
        loadIntegration(cmd, id);
        await withClient(async (client) => console.log(`${id}: ${await fn(client, id, opts)}`));
      });

  one('pause', 'pause the schedule of <id>: it starts nothing until unpaused', async (c, id, o) => {
    await c.schedule.getHandle(scheduleIdFor(id)).pause(o.note ?? 'paused with tidemark schedule pause');
    return 'paused';
  });
  one('unpause', 'unpause the schedule of <id>', async (c, id, o) => {
    await c.schedule.getHandle(scheduleIdFor(id)).unpause(o.note ?? 'unpaused with tidemark schedule unpause');
    return 'unpaused';
  });
  one('trigger', 'start a run of the schedule of <id> now (its overlap policy applies)', async (c, id) => {
    await c.schedule.getHandle(scheduleIdFor(id)).trigger();
    return 'triggered (see `tidemark status` or `tidemark schedule list`)';
  });
  one('delete', 'delete the schedule of <id> (runs in progress continue)', async (c, id) => {
    await c.schedule.getHandle(scheduleIdFor(id)).delete();
    return 'deleted';
  });
}
