import { Client, Connection, WorkflowExecutionAlreadyStartedError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { RunResult } from './activities/types';
import { dataConverterFromEnv } from './codec/aes-gcm-codec';
import { temporalConnectionOptions, temporalUnreachable } from './config/temporal-connection';
import { temporalSettings } from './config/temporal-env';
import { temporalIdPart } from './instances/instance-id';
import { withSearchAttributes } from './instances/search-attributes';
import type { BackfillInput, SyncInput } from './workflows/validate-input';

export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const s = temporalSettings(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(env), connectTimeout: '5 seconds' });
  } catch (err) {
    throw temporalUnreachable(s.address, (err as Error).message, err);
  }
  return new Client({ connection, namespace: s.namespace, dataConverter: dataConverterFromEnv(env) });
}

/**
 * One id per integration for manual runs, so two of them can never write the same integration at once.
 * An instance's `/` becomes `.` (see temporalIdPart): `tidemark-shop.acme`.
 */
export function workflowIdFor(integration: string): string {
  return `tidemark-${temporalIdPart(integration)}`;
}

export class IntegrationBusyError extends Error {
  override readonly name = 'IntegrationBusyError';
  constructor(
    readonly integration: string,
    readonly workflowId: string,
  ) {
    super(`integration "${integration}" is busy: workflow ${workflowId} is running; wait for it (\`tidemark status ${integration} --watch\`) or stop it (\`tidemark cancel ${integration}\`)`);
  }
}

export type RunKind = 'sync' | 'backfill';

/** Id of the cron workflow of an integration (`tidemark sync <id> --cron …`). */
export function cronWorkflowIdFor(integration: string): string {
  return `tidemark-${temporalIdPart(integration)}-cron`;
}

export async function startIntegrationRun(
  client: Client,
  kind: RunKind,
  input: SyncInput | BackfillInput,
  taskQueue = temporalSettings().taskQueue,
  opts: { cronSchedule?: string } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const workflowId = opts.cronSchedule ? cronWorkflowIdFor(input.integration) : workflowIdFor(input.integration);
  try {
    // TidemarkIntegration (and TidemarkTemplate/TidemarkInstance for an instance), so the Web UI filters by customer.
    return await withSearchAttributes(client, input.integration, (attributes) =>
      client.workflow.start(kind === 'sync' ? 'syncWorkflow' : 'backfillWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
        ...(opts.cronSchedule ? { cronSchedule: opts.cronSchedule } : {}),
        ...(attributes ? { typedSearchAttributes: attributes } : {}),
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new IntegrationBusyError(input.integration, workflowId);
    throw err;
  }
}

export async function waitForResult(handle: WorkflowHandle): Promise<RunResult> {
  return (await handle.result()) as RunResult;
}

/** Scheduled runs get this id plus "-<timestamp>" from Temporal. */
export function scheduledWorkflowIdPrefix(integration: string): string {
  return `tidemark-${temporalIdPart(integration)}-scheduled`;
}

/** A visibility query for every workflow of an integration: the manual one, its cron workflow, its scheduled runs. */
function workflowsOfQuery(integration: string): string {
  return `WorkflowId = '${workflowIdFor(integration)}' OR WorkflowId = '${cronWorkflowIdFor(integration)}' OR WorkflowId STARTS_WITH '${scheduledWorkflowIdPrefix(integration)}-'`;
}

/**
 * The integration's workflow started last (manual, cron or scheduled), running or not: what `status` shows when
 * nothing runs. Visibility lists running ones first, then the latest closed; the first 20 are enough.
 */
export async function latestWorkflowOf(client: Client, integration: string): Promise<WorkflowHandle | undefined> {
  const query = workflowsOfQuery(integration);
  let latest: { id: string; at: number } | undefined;
  let seen = 0;
  for await (const wf of client.workflow.list({ query, pageSize: 20 })) {
    const at = wf.startTime.getTime();
    if (!latest || at > latest.at) latest = { id: wf.workflowId, at };
    if (++seen >= 20) break;
  }
  return latest && client.workflow.getHandle(latest.id);
}

const GRPC_UNIMPLEMENTED = 12;

/**
 * A backfill of the integration running under a workflow id other than tidemark's own (started from the Temporal UI
 * or CLI with an id of the operator's): a backfill started now would queue behind it on the integration's lock and
 * then read everything again (an acceptance run: 2.1M rows read twice). Undefined: none.
 */
export async function runningBackfillElsewhere(client: Client, integration: string, runKeys: readonly string[] = []): Promise<string | undefined> {
  // A check, not a gate: a listing that fails (visibility not answering) lets the backfill start as before (the review).
  return (await runningBackfills(client, integration, runKeys)).find((id) => id !== workflowIdFor(integration));
}

/** A backfill of the integration running under any workflow id, tidemark's own included; undefined: none. */
export async function runningBackfillOf(client: Client, integration: string, runKeys: readonly string[] = []): Promise<string | undefined> {
  return (await runningBackfills(client, integration, runKeys))[0];
}

/** The workflow ids of the integration's running backfills; none when Temporal's listing fails. */
async function runningBackfills(client: Client, integration: string, runKeys: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const handle of await runningWorkflowsOf(client, integration, runKeys).catch(() => [])) {
    const d = await handle.describe().catch(() => undefined);
    if (d?.status.name === 'RUNNING' && d.type === 'backfillWorkflow') ids.push(d.workflowId);
  }
  return ids;
}

/**
 * Every running workflow of an integration, however it was started: manual (`tidemark-<id>`), cron
 * (`tidemark-<id>-cron`) and scheduled (`tidemark-<id>-scheduled-<time>`). Visibility is eventually
 * consistent, so the manual id is also checked directly. `runKeys`: the integration's runs the state database
 * has as running (runningRunKeys): a workflow started under another id (`temporal workflow start -w …`, the UI)
 * is found through them.
 */
export async function runningWorkflowsOf(client: Client, integration: string, runKeys: readonly string[] = []): Promise<WorkflowHandle[]> {
  const ids = new Set<string>();
  // A run key names its run too: an id reused later for another integration's workflow is not this one's (review).
  const candidates: [string, string | undefined][] = [[workflowIdFor(integration), undefined], ...runKeys.map((k): [string, string] => [k.slice(0, k.lastIndexOf('/')), k.slice(k.lastIndexOf('/') + 1)]).filter(([w]) => w !== '')];
  for (const [id, runId] of candidates) {
    const d = await client.workflow.getHandle(id, runId).describe().catch(() => undefined);
    if (d?.status.name === 'RUNNING') ids.add(d.workflowId);
  }
  const query = `(${workflowsOfQuery(integration)}) AND ExecutionStatus = 'Running'`;
  try {
    for await (const wf of client.workflow.list({ query })) ids.add(wf.workflowId);
  } catch (err) {
    // Temporal's time-skipping test server has no listing (UNIMPLEMENTED): its runs are the ones described above.
    if ((err as { cause?: { code?: number } }).cause?.code !== GRPC_UNIMPLEMENTED) throw err;
  }
  return [...ids].map((id) => client.workflow.getHandle(id));
}
