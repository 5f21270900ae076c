import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';

/** Attempts of one workflow task before it counts as stuck: a worker restarting mid-task costs one or two. */
export const STUCK_ATTEMPTS = 5;

/**
 * Why a running workflow's task keeps failing on the workers, when it does (STUCK_ATTEMPTS or more attempts):
 * the workflow then neither progresses nor sees a cancel, and `--wait` would wait for good. A payload encrypted with
 * another key than the workers' (a CLI's TIDEMARK_ENCRYPTION_KEY) is the usual cause, found by an acceptance run.
 */
export async function stuckTask(client: Client, handle: WorkflowHandle, described?: WorkflowExecutionDescription): Promise<string | undefined> {
  const d = described ?? (await handle.describe().catch(() => undefined));
  const attempt = d?.status.name === 'RUNNING' ? (d.raw.pendingWorkflowTask?.attempt ?? 0) : 0;
  if (attempt < STUCK_ATTEMPTS) return undefined;
  const end = await lastTaskEnd(client, handle);
  if (end === undefined) return undefined;
  // Only the first failed or timed-out attempt is recorded; later ones leave no event. A first attempt that timed
  // out (a busy worker) followed by failures read as healthy under load, so a recorded timeout counts too: at this
  // many attempts the task has not completed either way (five task timeouts of 10 s are no busy moment), and a
  // higher bar left --wait silent for minutes, as the server backs off failing attempts.
  const reason =
    end.failure ??
    `its first attempt timed out and no later one completed (the history keeps no reason for those: a worker without the key or the code fails them, one too busy to answer in time times them out)`;
  return (
    `the workers fail this workflow's task (attempt ${attempt}): ${reason}. It cannot run or see a cancel until that is fixed ` +
    `(the worker's log says why); end it with \`temporal workflow terminate --workflow-id ${handle.workflowId}\``
  );
}

/**
 * A line per activity whose failed attempt `told` has not seen yet (it is updated): `retrying: …`. Under `--wait`
 * an unreachable source was silent for minutes (a backfill's retries never end) while `status` said why at once.
 */
export async function retryLines(client: Client, d: WorkflowExecutionDescription, told: Map<string, number>): Promise<string[]> {
  const lines: string[] = [];
  for (const a of d.raw.pendingActivities ?? []) {
    const attempt = a.attempt ?? 1;
    const id = a.activityId ?? '';
    if (attempt < 2 || !a.lastFailure || (told.get(id) ?? 0) >= attempt) continue;
    told.set(id, attempt);
    lines.push(`retrying: attempt ${attempt - 1} of ${a.activityType?.name ?? 'the activity'} failed: ${await failureText(client, a.lastFailure)}`);
  }
  return lines;
}

/**
 * How the workflow task's latest recorded attempt ended, when it did not complete: its failure (decoded with this
 * process's key when it can be) or a timeout (no failure). Undefined: it completed, or nothing is recorded.
 */
async function lastTaskEnd(client: Client, handle: WorkflowHandle): Promise<{ failure?: string } | undefined> {
  const history = await handle.fetchHistory().catch(() => undefined);
  const last = [...(history?.events ?? [])]
    .reverse()
    .find((e) => e.workflowTaskFailedEventAttributes || e.workflowTaskCompletedEventAttributes || e.workflowTaskTimedOutEventAttributes);
  if (last?.workflowTaskFailedEventAttributes) return { failure: await failureText(client, last.workflowTaskFailedEventAttributes.failure) };
  return last?.workflowTaskTimedOutEventAttributes ? {} : undefined;
}

/** A failure from Temporal (a task's, an activity's last) as its message, decoded when this process has the key. */
export async function failureText(client: Client, failure: temporal.api.failure.v1.IFailure | null | undefined): Promise<string> {
  if (!failure) return 'no reason recorded';
  try {
    const err = await decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, failure);
    // Without a key the codec leaves an encrypted failure as it is: its message is the SDK's placeholder.
    if (failure.encodedAttributes && err?.message === 'Encoded failure') return `a failure encrypted by the workers: set TIDEMARK_ENCRYPTION_KEY (the workers' key) to read it`;
    return err?.message || failure.message || 'no reason recorded';
  } catch (err) {
    return `a failure encrypted with a key this process does not have (${(err as Error).message}): TIDEMARK_ENCRYPTION_KEY here is not the workers'`;
  }
}

/**
 * Whether a worker takes the workflow's task within `waitMs` (a cancel, a signal): false when the task is still
 * only scheduled by then, which means no worker polls its task queue (all killed or stopped). 15 s: a task bound
 * to a dead worker's sticky queue moves to the shared one after 10 s, and a busy worker may be slow to poll. The workflow then
 * sees the cancel only when a worker starts; `cancel` says so instead of leaving the operator to guess.
 */
export async function taskTaken(handle: WorkflowHandle, waitMs = 15_000): Promise<{ taken: boolean; taskQueue?: string }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const d = await handle.describe().catch(() => undefined);
    const task = d?.raw.pendingWorkflowTask;
    // 1 = PENDING_WORKFLOW_TASK_STATE_SCHEDULED: queued, not yet taken by any worker.
    if (d?.status.name !== 'RUNNING' || !task || task.state !== 1) return { taken: true };
    if (Date.now() >= deadline) return { taken: false, taskQueue: d.taskQueue };
    await new Promise((r) => setTimeout(r, 250));
  }
}
