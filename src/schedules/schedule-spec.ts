import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { formatDuration } from '../config/duration';
import { ConfigError, type ConfigIssue } from '../config/errors';
import type { Config, Integration, ScheduleConfig } from '../config/schema';
import { scheduleIdFor, scheduledWorkflowIdPrefix } from './schedule-id';

/** Pure: the Schedule an integration's config asks for, and how an existing Schedule differs from it. */

export type ScheduledIntegration = Integration & { schedule: ScheduleConfig };
/** What a Schedule is made from: an integration's (or an instance's) id and schedule. */
export type Scheduled = Pick<Integration, 'id'> & { schedule: ScheduleConfig; fairnessWeight?: number };

/** The scheduled workflow's input: an instance's fairness weight only when it is not the default 1, so schedules made before weights existed stay unchanged. */
export function scheduledInput(it: Scheduled): { integration: string; fairnessWeight?: number } {
  return { integration: it.id, ...(it.fairnessWeight !== undefined && it.fairnessWeight !== 1 ? { fairnessWeight: it.fairnessWeight } : {}) };
}
type OverlapName = ScheduleConfig['overlap'];

export const OVERLAP_POLICY: Record<OverlapName, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  terminate_other: ScheduleOverlapPolicy.TERMINATE_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

/** The config's name of a policy (`skip`), so output reads like the yaml. */
export function overlapName(policy: ScheduleOverlapPolicy | undefined): string {
  const found = Object.entries(OVERLAP_POLICY).find(([, p]) => p === (policy ?? ScheduleOverlapPolicy.SKIP));
  return found ? found[0] : String(policy).toLowerCase();
}

/** The server keeps a catch-up window below 10 s as 10 s; ask for what it keeps, or every apply would see a change. */
const MIN_CATCHUP_WINDOW_MS = 10_000;

/** The action memo key holding the spec's text: a cron expression is read back compiled into calendars. */
export const SPEC_MEMO = 'tidemarkSpec';

export function specText(s: ScheduleConfig): string {
  return 'every' in s ? `every ${formatDuration(s.every)}${s.offset ? ` offset ${formatDuration(s.offset)}` : ''}` : `cron ${s.cron}`;
}

/** The spec of an existing Schedule as text: intervals as they are; calendars by the text recorded at apply. */
export function describedSpecText(d: Pick<ScheduleDescription, 'spec' | 'action'>): string {
  const intervals = d.spec.intervals ?? [];
  if (intervals.length === 1 && !d.spec.calendars?.length) {
    const [{ every, offset }] = intervals as [{ every: number; offset: number }];
    return `every ${formatDuration(every)}${offset ? ` offset ${formatDuration(offset)}` : ''}`;
  }
  const recorded = d.action.memo?.[SPEC_MEMO];
  return typeof recorded === 'string' ? recorded : 'a calendar spec not set by tidemark';
}

/** What zod cannot see field by field; checked for all integrations before any Schedule is written. */
export function scheduleIssues(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.integrations.forEach((it, i) => {
    const s = it.schedule;
    if (s && 'every' in s && s.offset !== undefined && s.offset >= s.every) {
      issues.push({ path: `integrations[${i}].schedule.offset`, message: `must be less than every (${formatDuration(s.every)}): it shifts the ticks within one interval` });
    }
  });
  return issues;
}

export function assertSchedulesValid(config: Config, source = '(schedules)'): void {
  const issues = scheduleIssues(config);
  if (issues.length) throw new ConfigError(source, issues);
}

function catchupWindow(s: ScheduleConfig): number {
  return Math.max(s.catchupWindow, MIN_CATCHUP_WINDOW_MS);
}

/** `paused` applies at creation only: after that, pausing is an operator's decision (see apply-schedules). */
export function desiredSchedule(it: Scheduled, taskQueue: string): ScheduleOptions {
  const s = it.schedule;
  return {
    scheduleId: scheduleIdFor(it.id),
    spec: 'every' in s ? { intervals: [{ every: s.every, offset: s.offset ?? 0 }] } : { cronExpressions: [s.cron] },
    action: {
      type: 'startWorkflow',
      workflowType: 'syncWorkflow',
      taskQueue,
      workflowId: scheduledWorkflowIdPrefix(it.id),
      args: [scheduledInput(it)],
      memo: { [SPEC_MEMO]: specText(s) },
    },
    policies: { overlap: OVERLAP_POLICY[s.overlap], catchupWindow: catchupWindow(s) },
    state: { paused: s.paused, ...(s.paused ? { note: 'created paused: schedule.paused is true in the config' } : {}) },
    // Tells tidemark's Schedules apart from others in the namespace (list, orphans).
    memo: { tidemark: true, integration: it.id },
  };
}

function sameSpec(s: ScheduleConfig, have: ScheduleDescription): boolean {
  const intervals = have.spec.intervals ?? [];
  const calendars = have.spec.calendars ?? [];
  if ('cron' in s) return intervals.length === 0 && calendars.length > 0 && have.action.memo?.[SPEC_MEMO] === specText(s);
  return calendars.length === 0 && intervals.length === 1 && intervals[0]!.every === s.every && intervals[0]!.offset === (s.offset ?? 0);
}

/**
 * Differences between the config and an existing Schedule, as "was → wants" strings; empty means
 * unchanged. The pause state is not compared: apply never changes it.
 */
export function scheduleDifferences(it: Scheduled, taskQueue: string, have: ScheduleDescription): string[] {
  const s = it.schedule;
  const diffs: string[] = [];
  if (!sameSpec(s, have)) diffs.push(`${describedSpecText(have)} → ${specText(s)}`);
  if (have.policies.overlap !== OVERLAP_POLICY[s.overlap]) diffs.push(`overlap ${overlapName(have.policies.overlap)} → ${s.overlap}`);
  if (have.policies.catchupWindow !== catchupWindow(s)) {
    diffs.push(`catch-up window ${formatDuration(have.policies.catchupWindow)} → ${formatDuration(catchupWindow(s))}`);
  }
  const a = have.action;
  if (a.workflowType !== 'syncWorkflow') diffs.push(`workflow type ${a.workflowType} → syncWorkflow`);
  if (a.taskQueue !== taskQueue) diffs.push(`task queue ${a.taskQueue} → ${taskQueue}`);
  if (a.workflowId !== scheduledWorkflowIdPrefix(it.id)) diffs.push(`workflow id ${a.workflowId} → ${scheduledWorkflowIdPrefix(it.id)}`);
  const args = JSON.stringify(a.args ?? []);
  const wanted = JSON.stringify([scheduledInput(it)]);
  if (args !== wanted) diffs.push(`input ${args} → ${wanted}`);
  return diffs;
}
