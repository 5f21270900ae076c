import type { Client } from '@temporalio/client';

export interface ScheduleView {
  scheduleId: string;
  integration: string;
  spec: string;
  paused: boolean;
  note?: string;
  overlap: string;
  nextRuns: string[];
  actions: number;
  skippedOverlap: number;
  running: string[];
  recent: Array<{ scheduledAt: string; workflowId: string }>;
}

/** tidemark's Schedules (memo.tidemark), described: spec, pause, next runs, actions taken and skipped. */
export async function listSchedules(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const s of client.schedule.list()) {
    if (s.memo?.tidemark !== true) continue;
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    const action = d.action as { memo?: Record<string, unknown> };
    views.push({
      scheduleId: d.scheduleId,
      integration: String(s.memo.integration ?? '?'),
      spec: String(action.memo?.tidemarkSpec ?? '?'),
      paused: d.state.paused,
      ...(d.state.note ? { note: d.state.note } : {}),
      overlap: String(d.policies.overlap ?? 'SKIP'),
      nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      actions: d.info.numActionsTaken,
      skippedOverlap: d.info.numActionsSkippedOverlap,
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
      recent: d.info.recentActions.slice(-3).map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    });
  }
  return views.sort((a, b) => a.integration.localeCompare(b.integration));
}
