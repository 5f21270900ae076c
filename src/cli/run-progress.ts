import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { Progress } from '../activities/types';

export interface RunView {
  workflowId: string;
  type: string;
  status: string;
  attempt?: number;
  lastFailure?: string;
  progress?: Progress;
}

/** The workflow's state and its activity's latest heartbeat details (what the Temporal UI shows as pending). */
export async function describeRun(client: Client, handle: WorkflowHandle): Promise<RunView | undefined> {
  let d;
  try {
    d = await handle.describe();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
    throw err;
  }
  const pending = d.raw.pendingActivities?.[0];
  const payloads = pending?.heartbeatDetails?.payloads;
  const progress = payloads?.length ? await decodeFromPayloadsAtIndex<Progress>(client.options.loadedDataConverter, 0, payloads) : undefined;
  return {
    workflowId: d.workflowId,
    type: d.type,
    status: d.status.name,
    attempt: pending?.attempt ?? undefined,
    lastFailure: pending?.lastFailure?.message ?? undefined,
    progress: progress ?? undefined,
  };
}

export function formatRate(n: number): string {
  return `${Math.round(n).toLocaleString('en-US')} rows/s`;
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

export function progressLine(p: Progress): string {
  const of = p.total ? ` / ${p.total.toLocaleString('en-US')} (${Math.floor((100 * p.rows) / p.total)}%)` : '';
  return `${p.rows.toLocaleString('en-US')}${of} rows, ${formatRate(p.rate)}, ETA ${formatEta(p.etaSeconds)}, cursor ${JSON.stringify(p.cursor)}`;
}
