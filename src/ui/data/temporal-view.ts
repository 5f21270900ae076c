import type { Client } from '@temporalio/client';
import { temporalIdPart } from '../../instances/instance-id';
import { withDeadline } from '../../util/with-deadline';

export interface ScheduleState {
  paused: boolean;
  note?: string;
  nextRun?: string;
}

export interface RunningWorkflow {
  workflowId: string;
  runId: string;
  type: string;
  startTime: string;
}

export interface TemporalView {
  running: Map<string, RunningWorkflow[]>;
  schedules: Map<string, ScheduleState>;
  /** Why Temporal could not be asked (the page still shows the database's view). */
  error?: string;
}

/** The integration a workflow id belongs to: `tidemark-<id>`, `tidemark-<id>-cron`, `tidemark-<id>-scheduled-<time>`. */
export function integrationOfWorkflow(workflowId: string, ids: ReadonlySet<string>): string | undefined {
  if (!workflowId.startsWith('tidemark-')) return undefined;
  const rest = workflowId.slice('tidemark-'.length);
  if (ids.has(rest)) return rest;
  if (rest.endsWith('-cron') && ids.has(rest.slice(0, -5))) return rest.slice(0, -5);
  const scheduled = rest.match(/^(.*)-scheduled-.+$/);
  return scheduled && ids.has(scheduled[1] as string) ? scheduled[1] : undefined;
}

/**
 * Two listings for every integration at once, whatever their number: the running tidemark workflows
 * (one visibility query) and tidemark's schedules (one listing, which carries paused and the next times).
 */
export async function temporalView(client: Client | undefined, idsOrLater: ReadonlySet<string> | Promise<ReadonlySet<string>>, timeoutMs = 5_000): Promise<TemporalView> {
  const view: TemporalView = { running: new Map(), schedules: new Map() };
  if (!client) return { ...view, error: 'no Temporal connection' };
  const listed: RunningWorkflow[] = [];
  try {
    await withDeadline(
      Promise.all([
        (async () => {
          for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH 'tidemark-' AND ExecutionStatus = 'Running'` })) {
            listed.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type, startTime: wf.startTime.toISOString() });
          }
        })(),
        (async () => {
          for await (const s of client.schedule.list()) {
            if (s.memo?.tidemark !== true) continue;
            const id = String(s.memo.integration ?? '');
            view.schedules.set(id, { paused: s.state.paused, ...(s.state.note ? { note: s.state.note } : {}), ...(s.info.nextActionTimes[0] ? { nextRun: s.info.nextActionTimes[0].toISOString() } : {}) });
          }
        })(),
      ]),
      timeoutMs,
      'asking Temporal',
    );
  } catch (err) {
    view.error = (err as Error).message;
  }
  // Workflow ids carry an instance's id with "." for "/" (temporalIdPart): mapped back to the row's id.
  const ids = await idsOrLater;
  const byPart = new Map([...ids].map((id) => [temporalIdPart(id), id]));
  const parts = new Set(byPart.keys());
  for (const wf of listed) {
    const part = integrationOfWorkflow(wf.workflowId, parts);
    const id = part === undefined ? undefined : byPart.get(part);
    if (id) view.running.set(id, [...(view.running.get(id) ?? []), wf]);
  }
  return view;
}
