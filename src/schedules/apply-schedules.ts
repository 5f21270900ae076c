import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Config, Integration, ScheduleConfig } from '../config/schema';
import { desiredSchedule, scheduleDifferences, scheduleIdFor, specText } from './schedule-spec';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged' | 'no-schedule' | 'orphaned' | 'deleted';

export interface ApplyReport {
  integration: string;
  scheduleId: string;
  outcome: ApplyOutcome;
  detail: string;
}

/**
 * Creates or updates one Schedule per integration that has `schedule` in the config; idempotent.
 * A pause is an operator's decision: apply never unpauses (it reports the pause). Schedules of
 * integrations no longer in the config (or without `schedule`) are reported, and deleted with `prune`.
 */
export async function applySchedules(client: Client, config: Config, opts: { taskQueue: string; prune?: boolean }): Promise<ApplyReport[]> {
  const reports: ApplyReport[] = [];
  const wanted = new Set<string>();
  for (const it of config.integrations) {
    const scheduleId = scheduleIdFor(it.id);
    if (!it.schedule) {
      reports.push({ integration: it.id, scheduleId, outcome: 'no-schedule', detail: 'no schedule in the config' });
      continue;
    }
    wanted.add(scheduleId);
    const want = desiredSchedule(it as Integration & { schedule: ScheduleConfig }, opts.taskQueue);
    const handle = client.schedule.getHandle(scheduleId);
    const have = await handle.describe().catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    });
    const policy = `${specText(it.schedule)}, overlap ${it.schedule.overlap}`;
    if (!have) {
      await client.schedule.create(want);
      reports.push({ integration: it.id, scheduleId, outcome: 'created', detail: `${policy}${it.schedule.paused ? ', paused' : ''}` });
      continue;
    }
    const diffs = scheduleDifferences(want, have);
    const paused = have.state.paused ? ` (paused${have.state.note ? `: ${have.state.note}` : ''}; unpause with \`tidemark schedule unpause ${it.id}\`)` : '';
    if (!diffs.length) {
      reports.push({ integration: it.id, scheduleId, outcome: 'unchanged', detail: `${policy}${paused}` });
      continue;
    }
    await handle.update((prev) => ({ ...prev, spec: want.spec, action: want.action, policies: { ...prev.policies, ...want.policies } }) as never);
    reports.push({ integration: it.id, scheduleId, outcome: 'updated', detail: `${diffs.join(', ')}${paused}` });
  }
  for await (const s of client.schedule.list()) {
    if (s.memo?.tidemark !== true || wanted.has(s.scheduleId)) continue;
    const integration = String(s.memo.integration ?? '?');
    if (opts.prune) {
      await client.schedule.getHandle(s.scheduleId).delete();
      reports.push({ integration, scheduleId: s.scheduleId, outcome: 'deleted', detail: 'not in the config (pruned)' });
    } else {
      reports.push({ integration, scheduleId: s.scheduleId, outcome: 'orphaned', detail: 'not in the config; `tidemark schedule apply --prune` deletes it' });
    }
  }
  return reports;
}
