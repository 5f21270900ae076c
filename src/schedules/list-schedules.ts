import type { Client, ScheduleDescription } from '@temporalio/client';
import { describeIfExists } from './apply-schedules';
import { describedSpecText, overlapName } from './schedule-spec';

export interface ScheduleView {
  scheduleId: string;
  integration: string;
  /** `every 5m`, `every 1h offset 5m`, `cron 0 * * * *` */
  spec: string;
  paused: boolean;
  /** The operator's note (pause --note), or the server's (e.g. why it paused itself). */
  note?: string;
  /** As in the config: skip, buffer_one, … */
  overlap: string;
  /** The next 3 times the schedule starts a run (ISO 8601). */
  nextActionTimes: string[];
  actionsTaken: number;
  /** Ticks (and triggers) dropped because a run was still going, under overlap skip. */
  skippedOverlap: number;
  /** Ticks missed during an outage longer than the catch-up window. */
  missedCatchupWindow: number;
  /** Workflow ids of the runs this schedule started that are still running. */
  running: string[];
  /** The last few runs it started, oldest first. */
  recentActions: Array<{ scheduledAt: string; takenAt: string; workflowId: string }>;
}

const RECENT = 5;

export function scheduleView(d: ScheduleDescription): ScheduleView {
  return {
    scheduleId: d.scheduleId,
    integration: String(d.memo?.integration ?? d.scheduleId),
    spec: describedSpecText(d),
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
    overlap: overlapName(d.policies.overlap),
    nextActionTimes: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    recentActions: d.info.recentActions.slice(-RECENT).map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
  };
}

/**
 * tidemark's Schedules (memo.tidemark), sorted by integration. The listing finds them; each is then
 * described (the listing is eventually consistent and lacks the counters), skipping any just deleted.
 */
export async function listSchedules(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const s of client.schedule.list()) {
    if (s.memo?.tidemark !== true) continue;
    const d = await describeIfExists(client.schedule.getHandle(s.scheduleId));
    if (d) views.push(scheduleView(d));
  }
  return views.sort((a, b) => a.integration.localeCompare(b.integration));
}
