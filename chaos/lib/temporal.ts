import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { RunResult } from '../../src/activities/types';
import { dataConverterFromEnv } from '../../src/codec/aes-gcm-codec';
import { withTimeout } from './wait';

/** A Temporal client for a scenario (with the payload codec when `env` has TIDEMARK_ENCRYPTION_KEY). */
export async function temporalClient(address: string, env: NodeJS.ProcessEnv = {}): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, dataConverter: dataConverterFromEnv(env) });
}

export type Outcome = { ok: true; result: RunResult } | { ok: false; error: string; type?: string; nonRetryable?: boolean };

/** How a workflow ended: its result, or its failure's innermost message and type. */
export async function outcome(client: Client, workflowId: string, timeoutMs = 15 * 60_000): Promise<Outcome> {
  try {
    return { ok: true, result: (await withTimeout(client.workflow.getHandle(workflowId).result(), timeoutMs, `workflow ${workflowId}`)) as RunResult };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    let cause: unknown = err.cause ?? err;
    while ((cause as { cause?: unknown }).cause) cause = (cause as { cause: unknown }).cause;
    const c = cause as { message?: string; type?: string; nonRetryable?: boolean };
    return { ok: false, error: c.message ?? String(cause), ...(c.type ? { type: c.type } : {}), ...(c.nonRetryable !== undefined ? { nonRetryable: c.nonRetryable } : {}) };
  }
}

export async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Events of a workflow's history (raw: payloads as stored by the server, encrypted or not). */
export async function historyEvents(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const h = await client.workflow.getHandle(workflowId).fetchHistory();
  return h.events ?? [];
}

/** Every payload in a history, wherever it sits (inputs, results, heartbeat details, failure details). */
export function payloadsIn(value: unknown, out: Array<{ metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }> = []): typeof out {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const v = value as Record<string, unknown>;
  if ('data' in v && 'metadata' in v && (v.data instanceof Uint8Array || v.metadata)) out.push(v as never);
  // Search attributes (TidemarkIntegration, …) are indexed metadata like workflow ids: Temporal never passes them
  // through the payload codec. The secret-value scan of the whole history text still covers them.
  for (const [key, child] of Object.entries(v)) if (key !== 'searchAttributes') payloadsIn(child, out);
  return out;
}

/** Plain-text failure messages in a history (not payloads: the default failure converter leaves them as text). */
export function failureMessages(events: readonly HistoryEvent[]): string[] {
  const out: string[] = [];
  const walk = (f: temporal.api.failure.v1.IFailure | null | undefined) => {
    for (let x = f; x; x = x.cause) if (x.message) out.push(x.message);
  };
  for (const e of events) {
    walk(e.activityTaskFailedEventAttributes?.failure);
    walk(e.workflowExecutionFailedEventAttributes?.failure);
    walk(e.workflowTaskFailedEventAttributes?.failure);
    walk(e.activityTaskStartedEventAttributes?.lastFailure);
  }
  return out;
}

/** Activity attempts recorded in a history (the final attempt number of each activity). */
export function activityAttempts(events: readonly HistoryEvent[]): number[] {
  return events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 1);
}
