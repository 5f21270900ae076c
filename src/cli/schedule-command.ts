import type { Client, ScheduleDescription, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import type { ApplyReport, ScheduleView } from '../schedules';
import { refuse } from './arg-parsers';
import { lazy } from './lazy';

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await (await lazy('../client')).connectClient();
  try {
    return await fn(client);
  } finally {
    await (await lazy('./close-client')).closeClient(client);
  }
}

function reportLine(r: ApplyReport): string {
  return `${r.integration}: ${r.outcome} (${r.detail})`;
}

function printView(v: ScheduleView): void {
  const paused = v.paused ? `, PAUSED${v.note ? ` (${v.note})` : ''}` : '';
  console.log(`${v.integration}: ${v.spec}, overlap ${v.overlap}${paused}  [${v.scheduleId}]`);
  console.log(`  actions ${v.actionsTaken}, skipped (overlap) ${v.skippedOverlap}, missed (catch-up window) ${v.missedCatchupWindow}`);
  console.log(`  running ${v.running.length ? v.running.join(', ') : 'none'}`);
  // Temporal lists the next times even while paused; none of them starts until unpaused.
  console.log(`  next ${v.nextActionTimes.join(', ') || '-'}${v.paused ? ' (not while paused)' : ''}`);
  for (const a of v.recentActions) console.log(`  ran ${a.takenAt} ${a.workflowId}`);
}

/** Why there is no schedule to operate on, and what to do about it. */
function noScheduleMessage(config: Config, id: string, scheduleIdFor: (id: string) => string): string {
  const it = config.integrations.find((i) => i.id === id);
  const sid = scheduleIdFor(id);
  if (!it) return `unknown integration "${id}": the config defines ${config.integrations.map((i) => `"${i.id}"`).join(', ')}, and Temporal has no schedule ${sid}`;
  if (!it.schedule) return `${id} has no schedule: add \`schedule: { every: 5m }\` (or cron) to it in the config, then run \`tidemark schedule apply\``;
  return `${id} has no schedule in Temporal yet (${sid}): run \`tidemark schedule apply\` first`;
}

/** Operates an existing schedule (its integration may have left the config); the config was checked before connecting. */
async function withSchedule(config: Config, id: string, fn: (client: Client, d: ScheduleDescription, config: Config) => Promise<string>): Promise<void> {
  const { describeIfExists, scheduleIdFor } = await lazy('../schedules');
  await withClient(async (client) => {
    const d = await describeIfExists(client.schedule.getHandle(scheduleIdFor(id)));
    if (!d) throw new Error(noScheduleMessage(config, id, scheduleIdFor));
    console.log(`${id}: ${await fn(client, d, config)}`);
  });
}

/** Triggers, then watches the schedule's counters for a few seconds to say what became of it. */
async function trigger(client: Client, d: ScheduleDescription, config: Config, id: string): Promise<string> {
  const { OVERLAP_POLICY, overlapName } = await lazy('../schedules');
  const handle = client.schedule.getHandle(d.scheduleId);
  const configured = config.integrations.find((i) => i.id === id)?.schedule?.overlap;
  // The SDK's default for a trigger is allow_all; a manual run should obey the same policy as the ticks.
  const overlap: ScheduleOverlapPolicy = configured ? OVERLAP_POLICY[configured] : d.policies.overlap;
  await handle.trigger(overlap);
  const { pollUntil } = await lazy('../util/poll');
  let now = d;
  const outcome = await pollUntil(async () => {
    now = await handle.describe();
    if (now.info.numActionsTaken > d.info.numActionsTaken) return `started ${now.info.recentActions.at(-1)?.action.workflow.workflowId ?? '(workflow id not reported)'}`;
    if (now.info.numActionsSkippedOverlap > d.info.numActionsSkippedOverlap) {
      return `skipped: ${now.info.runningActions.map((a) => a.workflow.workflowId).join(', ') || 'a run'} is still running (overlap ${overlapName(overlap)})`;
    }
    return undefined;
  }, { intervalMs: 200, timeoutMs: 10_000, waitFirst: true });
  if (outcome !== undefined) return outcome;
  const running = now.info.runningActions.map((a) => a.workflow.workflowId);
  return `triggered, not started yet${running.length ? ` (${running.join(', ')} running, overlap ${overlapName(overlap)})` : ''}: \`tidemark schedule list\` shows when it starts`;
}

export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('Temporal Schedules, one per integration, from the config');

  schedule
    .command('apply')
    .description('create or update the schedule of every integration with `schedule:` (idempotent); never pauses or unpauses')
    .option('--prune', 'delete tidemark schedules whose integration left the config or has no `schedule:` any more')
    .action(async (opts: { prune?: boolean }, cmd: Command) => {
      const { configFile, loadCliConfig } = await lazy('./context');
      const { findConfigFile } = await lazy('../config/load-config');
      const { applySchedules, assertSchedulesValid } = await lazy('../schedules');
      const { temporalSettings } = await lazy('../config/temporal-env');
      const config = loadCliConfig(cmd);
      assertSchedulesValid(config, findConfigFile(configFile(cmd))); // before connecting: a bad config starts nothing
      const { moduleProblems } = await lazy('./module-problems');
      const modules = config.integrations.filter((it) => it.schedule).flatMap((it) => moduleProblems(it, { load: false }));
      if (modules.length) refuse(`error: ${modules.join('\n')}`);
      const onReport = (r: ApplyReport) => console.log(reportLine(r));
      await withClient((client) => applySchedules(client, config, { taskQueue: temporalSettings().taskQueue, prune: !!opts.prune, onReport }));
    });

  schedule
    .command('list')
    .description("tidemark's schedules: spec, overlap policy, paused (note), actions taken and skipped, running runs, next times")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      // It lists what Temporal holds, config or not; a config named with --config must still load (it was ignored).
      const context = await lazy('./context');
      if (context.configFile(cmd) !== undefined) context.loadCliConfig(cmd);
      const { listSchedules } = await lazy('../schedules');
      const views = await withClient((client) => listSchedules(client));
      if (opts.json) console.log(JSON.stringify(views, null, 2));
      else if (!views.length) console.log('no tidemark schedules: `tidemark schedule apply` creates them from the config');
      else views.forEach(printView);
    });

  schedule
    .command('pause <id>')
    .description('pause the schedule of integration <id>: it starts nothing until unpaused (apply keeps it paused)')
    .option('--note <text>', 'why, shown by `schedule list`')
    .action(async (id: string, opts: { note?: string }, cmd: Command) => {
      await withSchedule((await lazy('./context')).loadCliConfig(cmd), id, async (client, d) => {
        // Already paused and no new note: the note it has stays (it says why), as the operator's page does it.
        if (d.state.paused && opts.note === undefined) return `already paused${d.state.note ? ` (${d.state.note})` : ''}: nothing changed; \`tidemark schedule unpause ${id}\` resumes it`;
        const note = opts.note ?? 'paused with `tidemark schedule pause`';
        await client.schedule.getHandle(d.scheduleId).pause(note);
        const was = d.state.paused ? ` (it was already paused${d.state.note ? `: ${d.state.note}` : ''})` : '';
        return `paused (${note})${was}; \`tidemark schedule unpause ${id}\` resumes it`;
      });
    });

  schedule
    .command('unpause <id>')
    .description('unpause the schedule of integration <id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const { parseInstanceRef, scheduleUnpauseRefusal } = await lazy('../instances');
      const ref = parseInstanceRef(id);
      const refusal = ref ? await scheduleUnpauseRefusal({ config, template: ref.template, instance: ref.instance }) : undefined;
      if (refusal) throw new Error(refusal);
      await withSchedule(config, id, async (client, d) => {
        if (!d.state.paused) return 'not paused, nothing to do';
        await client.schedule.getHandle(d.scheduleId).unpause('unpaused with `tidemark schedule unpause`');
        return 'unpaused';
      });
    });

  schedule
    .command('trigger <id>')
    .description("start a run of <id>'s schedule now; the overlap policy of the config applies (skip: not while a run is going)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      // A run needs the integration (or instance, resolved before this action) in the config; the worker resolves it from its own.
      const { config } = (await lazy('./context')).loadIntegration(cmd, id);
      await withSchedule(config, id, (client, d, config) => trigger(client, d, config, id));
    });

  schedule
    .command('delete <id>')
    .description('delete the schedule of integration <id> (a run in progress goes on)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withSchedule((await lazy('./context')).loadCliConfig(cmd), id, async (client, d, config) => {
        await client.schedule.getHandle(d.scheduleId).delete();
        const again = config.integrations.find((i) => i.id === id)?.schedule ? '; the config still has `schedule:` for it, so the next `schedule apply` creates it again' : '';
        return `deleted ${d.scheduleId}${d.info.runningActions.length ? ' (its running run goes on)' : ''}${again}`;
      });
    });
}
