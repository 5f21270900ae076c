import type { Client } from '@temporalio/client';
import { runningBackfillOf, runningWorkflowsOf, startIntegrationRun, workflowIdFor } from '../../client';
import { runningRunKeysOf } from '../../db/running-run-keys-at';
import { parseBatchSize, parseRate, wholeNumber } from '../../cli/arg-parsers';
import type { TuneInput } from '../../workflows/validate-input';
import { ActionRefusedError, field, type Form } from './action-error';
import type { Integration } from '../../config';
import { resumeRefusalIfReachable } from '../../activities/resume-refusal';
import { checkCursorShape } from '../../sources/cursor-shape';
import { shardsRefusal } from '../../sources/shard-support';

function json(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    throw new Error(`is not valid JSON (a cursor is e.g. ["2024-05-01 10:00:00+00","42"])`);
  }
}

/** `tidemark sync <id>`. */
export async function syncNow(client: Client, taskQueue: string, id: string): Promise<string> {
  const handle = await startIntegrationRun(client, 'sync', { integration: id }, taskQueue);
  return `started syncWorkflow ${handle.workflowId} (run ${handle.firstExecutionRunId})`;
}

/** `tidemark backfill <id> [--from] [--shards] [--rate] [--batch-size]`: `from` of the cursor's shape, as the CLI checks it. */
export async function backfill(client: Client, taskQueue: string, it: Integration, form: Form): Promise<string> {
  const id = it.id;
  const from = field(form, 'from', json, 'backfill', id);
  if (from !== undefined) {
    try {
      checkCursorShape(it.source, from);
    } catch (err) {
      throw new ActionRefusedError('backfill', id, `from ${JSON.stringify(form.from?.trim())}: ${(err as Error).message}; give a cursor as the checkpoint table shows it, or null for the start`);
    }
  }
  const shards = field(form, 'shards', wholeNumber(1, 64), 'backfill', id);
  const refusal = shards && shards > 1 ? shardsRefusal(it.source) : undefined;
  if (refusal) throw new ActionRefusedError('backfill', id, `shards ${shards}: ${refusal}`);
  const rate = field(form, 'rate', parseRate, 'backfill', id);
  const batchSize = field(form, 'batchSize', parseBatchSize, 'backfill', id);
  const input = { integration: id, ...(from !== undefined ? { from } : {}), ...(shards ? { shards } : {}), ...(rate ? { rate } : {}), ...(batchSize ? { batchSize } : {}) };
  const handle = await startIntegrationRun(client, 'backfill', input, taskQueue);
  return `started backfillWorkflow ${handle.workflowId} (run ${handle.firstExecutionRunId})`;
}

/** `tidemark resume <id>`: refused as the CLI refuses it when there is nothing to continue (resume-refusal.ts). */
export async function resume(client: Client, taskQueue: string, it: Integration, env: NodeJS.ProcessEnv): Promise<string> {
  const id = it.id;
  const refusal = await resumeRefusalIfReachable(it, env);
  // A backfill running already (one just started has no checkpoint yet) is the one to continue, as the CLI says.
  const running = await runningBackfillOf(client, id, await runningRunKeysOf(it, env));
  if (running) return `${running} is this backfill, still running: it continues from its checkpoint by itself; nothing new started`;
  if (refusal) throw new ActionRefusedError('resume', id, refusal, 409);
  const handle = await startIntegrationRun(client, 'backfill', { integration: id, resume: true }, taskQueue);
  return `resumed: backfillWorkflow ${handle.workflowId} (run ${handle.firstExecutionRunId}) continues from the checkpoint`;
}

/** `tidemark cancel <id>`: every running workflow of the integration, at the next batch boundary. */
export async function cancel(client: Client, it: Integration, env: NodeJS.ProcessEnv): Promise<string> {
  const id = it.id;
  // Runs the state database has as running: a workflow started under an id of the operator's choosing.
  const running = await runningWorkflowsOf(client, id, await runningRunKeysOf(it, env));
  if (!running.length) throw new ActionRefusedError('cancel', id, 'no running workflow to cancel', 409);
  for (const handle of running) await handle.cancel();
  return `cancellation requested for ${running.map((h) => h.workflowId).join(', ')}; it stops after the batch in flight commits`;
}

/** `tidemark tune <id> [--batch-size] [--rate]`. */
export async function tune(client: Client, id: string, form: Form): Promise<string> {
  const batchSize = field(form, 'batchSize', parseBatchSize, 'tune', id);
  const rate = field(form, 'rate', parseRate, 'tune', id);
  if (batchSize === undefined && rate === undefined) throw new ActionRefusedError('tune', id, 'give a batch size and/or a rate');
  const handle = client.workflow.getHandle(workflowIdFor(id));
  const d = await handle.describe().catch(() => undefined);
  if (d?.status.name !== 'RUNNING' || d.type !== 'backfillWorkflow') throw new ActionRefusedError('tune', id, 'no running backfill to tune (start one first)', 409);
  await handle.signal<[TuneInput]>('tune', { ...(batchSize ? { batchSize } : {}), ...(rate ? { rowsPerSecond: rate } : {}) });
  const what = [batchSize ? `batch size ${batchSize}` : '', rate ? `${rate} rows/s` : ''].filter(Boolean).join(', ');
  return `${handle.workflowId} retuned to ${what}; applies from the next page`;
}
