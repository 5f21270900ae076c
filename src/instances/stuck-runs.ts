import type { Client } from '@temporalio/client';
import { cronWorkflowIdFor, workflowIdFor } from '../client';
import { STUCK_ATTEMPTS, stuckTask } from '../cli/stuck-task';
import type { StatusLine } from './status-all';

/** Describes at once, at most: a listing may hold many running workflows. */
const CONCURRENCY = 8;

/**
 * Lines whose running workflow the workers cannot run (its task failing again and again: a worker without the
 * encryption key, a workflow code error) read `failing`, with why. The state database cannot see it: the activity
 * never starts, so the last run there still reads ok (an acceptance run: `status --all` said ok while every
 * workflow task failed). One listing of the running tidemark workflows, a describe of each, and the history of
 * those whose task keeps failing (for why).
 */
export async function addStuckRuns(client: Client, lines: StatusLine[]): Promise<void> {
  const byId = new Map<string, StatusLine>();
  for (const l of lines) {
    byId.set(workflowIdFor(l.id), l);
    byId.set(cronWorkflowIdFor(l.id), l);
  }
  const running: Array<{ id: string; line: StatusLine }> = [];
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH 'tidemark-'` })) {
    // Scheduled runs: tidemark-<id>-scheduled-<time>.
    const cut = wf.workflowId.lastIndexOf('-scheduled-');
    const line = byId.get(wf.workflowId) ?? (cut > 0 ? byId.get(wf.workflowId.slice(0, cut)) : undefined);
    if (line) running.push({ id: wf.workflowId, line });
  }
  let next = 0;
  const work = async () => {
    for (let i = next++; i < running.length; i = next++) {
      const { id, line } = running[i]!;
      const handle = client.workflow.getHandle(id);
      const d = await handle.describe().catch(() => undefined);
      if ((d?.raw.pendingWorkflowTask?.attempt ?? 0) < STUCK_ATTEMPTS) continue;
      const stuck = await stuckTask(client, handle, d);
      if (!stuck || !['ok', 'running', 'never-run'].includes(line.state)) continue;
      Object.assign(line, { state: 'failing', reason: `${id}: ${stuck}` });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, running.length) }, work));
}
