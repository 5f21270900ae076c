import type { ScheduleDescription, ScheduleOptions, ScheduleOverlapPolicy } from '@temporalio/client';
import { formatDuration } from '../config/duration';
import type { Integration, ScheduleConfig } from '../config/schema';
import { scheduledWorkflowIdPrefix } from '../client';

/** One Schedule per integration: `tidemark-<id>-schedule`, starting syncWorkflow runs `tidemark-<id>-scheduled-<time>`. */
export function scheduleIdFor(integration: string): string {
  return `tidemark-${integration}-schedule`;
}

export function specText(s: ScheduleConfig): string {
  return 'every' in s ? `every ${formatDuration(s.every)}${s.offset ? ` offset ${formatDuration(s.offset)}` : ''}` : `cron ${s.cron}`;
}

const OVERLAP: Record<ScheduleConfig['overlap'], ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  buffer_all: 'BUFFER_ALL',
  cancel_other: 'CANCEL_OTHER',
  terminate_other: 'TERMINATE_OTHER',
  allow_all: 'ALLOW_ALL',
};

/**
 * The Schedule an integration's config asks for. A cron expression comes back from `describe` as
 * calendars, so the spec's text also travels in the action's memo (which updates can change), and
 * that is what `apply` compares.
 */
export function desiredSchedule(it: Integration & { schedule: ScheduleConfig }, taskQueue: string): ScheduleOptions {
  const s = it.schedule;
  return {
    scheduleId: scheduleIdFor(it.id),
    spec: 'every' in s ? { intervals: [{ every: s.every, ...(s.offset ? { offset: s.offset } : {}) }] } : { cronExpressions: [s.cron] },
    action: {
      type: 'startWorkflow',
      workflowType: 'syncWorkflow',
      taskQueue,
      workflowId: scheduledWorkflowIdPrefix(it.id),
      args: [{ integration: it.id }],
      memo: { tidemarkSpec: specText(s) },
    },
    policies: { overlap: OVERLAP[s.overlap], catchupWindow: s.catchupWindow },
    state: { paused: s.paused, ...(s.paused ? { note: 'created paused (schedule.paused in the config)' } : {}) },
    memo: { tidemark: true, integration: it.id },
  };
}

/** Human-readable differences between the config and a Schedule, e.g. "every 5m → every 10m". Empty: unchanged. */
export function scheduleDifferences(want: ScheduleOptions, have: ScheduleDescription): string[] {
  const diffs: string[] = [];
  const action = have.action as { workflowType?: string; taskQueue?: string; memo?: Record<string, unknown>; args?: unknown[] };
  const wantAction = want.action as unknown as { taskQueue: string; memo: { tidemarkSpec: string } };
  const haveSpec = String(action.memo?.tidemarkSpec ?? '(unknown spec)');
  if (haveSpec !== wantAction.memo.tidemarkSpec) diffs.push(`${haveSpec} → ${wantAction.memo.tidemarkSpec}`);
  if ((have.policies.overlap ?? 'SKIP') !== want.policies?.overlap) diffs.push(`overlap ${have.policies.overlap} → ${want.policies?.overlap}`);
  if (have.policies.catchupWindow !== want.policies?.catchupWindow) {
    diffs.push(`catch-up window ${formatDuration(have.policies.catchupWindow)} → ${formatDuration(Number(want.policies?.catchupWindow))}`);
  }
  if (action.taskQueue !== wantAction.taskQueue) diffs.push(`task queue ${action.taskQueue} → ${wantAction.taskQueue}`);
  if (action.workflowType !== 'syncWorkflow') diffs.push(`workflow ${action.workflowType} → syncWorkflow`);
  return diffs;
}
