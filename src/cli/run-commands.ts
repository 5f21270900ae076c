import type { Client, WorkflowHandle } from '@temporalio/client';
import { Command } from 'commander';
import type { SyncWorkflowResult } from '../activities/reconcile-deletes';
import type { RunResult } from '../activities/types';
import { parseBatchSize, parseRate, refuse, wholeNumber } from './arg-parsers';
import { lazy } from './lazy';

/**
 * `--from` checked against the integration's source config before anything starts: valid JSON of the cursor's shape,
 * and its values in the source's column types when a PostgreSQL source answers here (else the worker checks them). Parsed here, not by commander, which turns an option
 * parser's null (`--from null`: from the start) into an empty string.
 */
async function fromArg(cmd: Command, id: string, raw: string): Promise<unknown> {
  const { integration } = (await lazy('./context')).loadIntegration(cmd, id);
  const { checkCursorShape } = await lazy('../sources/cursor-shape');
  const hint = `give a cursor as \`tidemark checkpoint show ${id}\` prints it, or null for the start`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // The shape this source's cursors take (an API's is no PostgreSQL row: an acceptance run was shown one).
    let shape: string | undefined;
    try {
      checkCursorShape(integration.source, { '\u0000': raw }); // no source's shape: its error says the expected one
    } catch (err) {
      shape = (err as { expected?: string }).expected;
    }
    cmd.error(`error: option '--from <cursor-json>' argument '${raw}' is invalid: not valid JSON${shape ? ` (${id}'s cursors are ${shape})` : ''}; ${hint}`);
  }
  const unsafe = (await lazy('./unsafe-numbers')).unsafeNumberProblem(raw, value);
  if (unsafe) refuse(`error: --from ${raw}: ${unsafe}`);
  try {
    checkCursorShape(integration.source, value);
  } catch (err) {
    refuse(`error: --from ${raw}: ${(err as Error).message}; ${hint}`);
  }
  // Its values in the source's column types, when the source answers here (else the worker checks them).
  const problem = value === null ? undefined : await (await lazy('../sources/create-source')).cursorValueProblem(integration.source, id, value);
  if (problem) refuse(`error: --from ${raw}: ${problem}; ${hint}`);
  return value;
}

/**
 * `resume` with nothing to continue (no backfill yet, the last one completed) is refused before a workflow starts,
 * when this process can reach the state database: its URL's variables set here, the server answering within a few
 * seconds. Otherwise undefined, and the workflow's plan decides by the same rule (resume-refusal.ts).
 */
async function resumeRefusalOf(cmd: Command, id: string): Promise<string | undefined> {
  const { integration } = (await lazy('./context')).loadIntegration(cmd, id);
  const refusal = await (await lazy('../activities/resume-refusal')).resumeRefusalIfReachable(integration, process.env);
  if (!refusal) return undefined;
  // A backfill started a moment ago has no checkpoint yet, but it is the one to continue: followed, not refused
  // (CI: `resume` beside a backfill just started said "no backfill to resume").
  const { connectClient, runningBackfillOf } = await lazy('../client');
  // Temporal not answering: the refusal stands (it would start nothing anyway).
  const client = await connectClient().catch(() => undefined);
  if (!client) return refusal;
  try {
    const runKeys = await (await lazy('../db/running-run-keys-at')).runningRunKeysOf(integration);
    return (await runningBackfillOf(client, integration.id, runKeys)) ? undefined : refusal;
  } finally {
    await (await lazy('./close-client')).closeClient(client);
  }
}

/** "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** How long the workflow ran, by Temporal's clock (start to close); `since` when Temporal cannot tell. */
async function runSeconds(handle: WorkflowHandle, since: number): Promise<number> {
  const d = await handle.describe().catch(() => undefined);
  const start = d?.startTime?.getTime() ?? since;
  const end = d?.closeTime?.getTime() ?? Date.now();
  return Math.max(end - start, 1) / 1000;
}

/** Why a workflow failed, as its innermost message: the activity's error, a terminate's reason, a cancel. */
export function failureMessage(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; cause?: { message?: string } } } | undefined;
  return e?.cause?.cause?.message || e?.cause?.message || e?.message || '(no reason given)';
}

/**
 * Prints the outcome (rows, duration and rate); exit code 0 only when the workflow completed. A workflow whose task
 * the workers keep failing (stuck-task.ts) ends the wait with exit 1 and what to do, instead of waiting for good.
 */
export async function waitAndReport(client: Client, handle: WorkflowHandle, since = Date.now(), integration = '<id>'): Promise<void> {
  const { CancelledFailure, TerminatedFailure, WorkflowFailedError } = await lazy('@temporalio/client');
  const result = resultThroughOutages(handle, (err) => !(err instanceof WorkflowFailedError));
  result.catch(() => undefined); // read below, unless the wait ends as stuck
  const watch = watchStuck(client, handle);
  try {
    const first = await Promise.race([result.then((r) => ({ r })), watch.found.then((stuck) => ({ stuck }))]);
    if ('stuck' in first) {
      console.error(`stuck: ${first.stuck}`);
      process.exitCode = 1;
      return;
    }
    const r = first.r;
    if (r.stoppedBy === 'busy') {
      // The workflow completed, but it read nothing: another run held the integration. No exit 0 for that (an acceptance run).
      console.error(`skipped: ${integration} was busy (another run of it was writing, or its template was at its maxConcurrentRuns), so this run read nothing; the checkpoint is unchanged. \`tidemark runs ${integration}\` says which; run it again once that run ends`);
      process.exitCode = 1;
      return;
    }
    const secs = await runSeconds(handle, since);
    const how = r.done ? 'done' : `stopped early (${r.stoppedBy ?? 'not finished'}); the next run continues`;
    const rate = Math.round(r.rows / secs).toLocaleString('en-US');
    console.log(`completed: ${r.rows} rows in ${formatDuration(secs)} (${rate} rows/s), cursor ${JSON.stringify(r.cursor)}, ${how}`);
    const deleted = (r as SyncWorkflowResult).deleted;
    if (deleted) console.log(`deleted: ${deleted} target row(s) whose key the source no longer has (deletes)`);
    if (r.rejected) console.log(`dead letters: ${r.rejected} record(s) of this run were refused and kept aside: \`tidemark dead-letters ${integration}\` shows them, \`--retry\` writes them after a fix`);
    for (const w of r.warnings ?? []) console.log(`warning: ${w}`);
  } catch (err) {
    if (!(err instanceof WorkflowFailedError) && /Unknown encoding: binary\/encrypted|EncryptionKeyError|encrypted with key/.test((err as Error).message)) {
      return reportUnreadable(handle, (err as Error).message);
    }
    // A terminate's reason or a cancel alone would read as the run's own failure.
    const end = err instanceof WorkflowFailedError ? err.cause : undefined;
    const how = end instanceof TerminatedFailure ? 'terminated' : end instanceof CancelledFailure ? 'cancelled' : 'failed';
    if ((err as Error).name === 'TemporalUnreachableError') console.error(`error: ${(err as Error).message}`);
    else console.error(`${how}: ${err instanceof WorkflowFailedError ? failureMessage(err) : (err as Error).message}`);
    process.exitCode = 1;
  } finally {
    watch.stop();
  }
}

/** How long `--wait` keeps asking a Temporal server that stopped answering before it gives up (the run goes on). */
export const WAIT_THROUGH_OUTAGE_MS = 15 * 60_000;

/**
 * The workflow's result, waiting through a Temporal outage: the server going away is no failure of the run (its
 * activity keeps writing, and the workflow goes on when the server is back; an acceptance run saw "failed" printed
 * for a run that then completed). `transport` says which errors are the connection's, not the workflow's.
 */
async function resultThroughOutages(handle: WorkflowHandle, transport: (err: unknown) => boolean): Promise<RunResult> {
  let lostAt: number | undefined;
  for (;;) {
    try {
      const r = (await handle.result()) as RunResult;
      if (lostAt !== undefined) console.error('Temporal answers again');
      return r;
    } catch (err) {
      if (!transport(err) || !/UNAVAILABLE|ECONNREFUSED|ECONNRESET|DEADLINE_EXCEEDED|Failed to get Workflow execution history|No connection established/i.test(`${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`)) throw err;
      // Answering again (a second outage is not the first one going on): the clock of the limit starts anew.
      if (lostAt !== undefined && (await handle.describe().then(() => true, () => false))) {
        lostAt = undefined;
        continue;
      }
      if (lostAt === undefined) {
        lostAt = Date.now();
        console.error(`lost contact with Temporal (${(err as Error).message}): the run goes on on its workers; waiting for Temporal to answer again (Ctrl-C ends this wait, not the run)`);
      }
      if (Date.now() - lostAt > WAIT_THROUGH_OUTAGE_MS) {
        throw Object.assign(new Error(`Temporal has not answered for ${WAIT_THROUGH_OUTAGE_MS / 60_000} min: the run may still be going on; see \`tidemark status\` once Temporal is back`), { name: 'TemporalUnreachableError' });
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}

/** The workers encrypt (TIDEMARK_ENCRYPTION_KEY) and this CLI cannot decrypt: the outcome from the workflow's status. */
async function reportUnreadable(handle: WorkflowHandle, why: string): Promise<void> {
  const status = (await handle.describe().catch(() => undefined))?.status.name ?? 'UNKNOWN';
  const note = `its result is encrypted and this CLI cannot read it (${why}): set TIDEMARK_ENCRYPTION_KEY to the workers' key`;
  if (status === 'COMPLETED') return void console.log(`completed; ${note}`);
  console.error(`${status.toLowerCase()}; ${note}`);
  process.exitCode = 1;
}

/** Looks every few seconds whether the workflow's task is stuck (stuck-task.ts) while the wait goes on. */
function watchStuck(client: Client, handle: WorkflowHandle): { found: Promise<string>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // Aborts a look still retrying when the wait ends (a Temporal outage): a retry after the connection closed threw
  // from a timer and crashed the CLI after it had printed the result. One controller a look: each call adds an abort
  // listener to its signal, and eleven on one signal made Node warn of a leak.
  let abort = new AbortController();
  // The attempt of each activity last said to be retrying: each new failed attempt is one line, not one per look.
  const told = new Map<string, number>();
  const found = new Promise<string>((resolve) => {
    const look = async () => {
      abort = new AbortController();
      const stuck = await client
        .withAbortSignal(abort.signal, async () => {
          const tasks = await lazy('./stuck-task');
          const d = await handle.describe();
          // An activity failing and retried (a source that cannot be reached): said as it happens, not only when it gives up.
          for (const line of await tasks.retryLines(client, d, told)) if (!stopped) console.error(line);
          return tasks.stuckTask(client, handle, d);
        })
        .catch(() => undefined);
      if (stuck) resolve(stuck);
      else if (!stopped) timer = setTimeout(() => void look(), 3_000);
    };
    timer = setTimeout(() => void look(), 3_000);
  });
  return {
    found,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      abort.abort();
    },
  };
}

/** A backfill of the integration running under another workflow id (see runningBackfillElsewhere); undefined: none. */
async function backfillElsewhere(client: import('@temporalio/client').Client, integration: import('../config').Integration): Promise<string | undefined> {
  // The state database's running runs name workflows started under any id (as `cancel` finds them).
  const runKeys = await (await lazy('../db/running-run-keys-at')).runningRunKeysOf(integration);
  return (await lazy('../client')).runningBackfillElsewhere(client, integration.id, runKeys);
}

async function startAndMaybeWait(
  cmd: Command,
  kind: 'sync' | 'backfill',
  input: Record<string, unknown> & { integration: string },
  wait: boolean,
  cronSchedule?: string,
  /** resume: a backfill still running is the one to continue (it does by itself): said, and followed with --wait. */
  joinRunningBackfill = false,
): Promise<void> {
  const context = await lazy('./context');
  const { integration } = context.loadIntegration(cmd, input.integration);
  // The worker would refuse it at its start, after a workflow began (an acceptance run).
  const inactive = context.inactiveInstance(input.integration);
  if (inactive) refuse(`error: ${inactive}`);
  const modules = (await lazy('./module-problems')).moduleProblems(integration, { load: false });
  if (modules.length) refuse(`error: ${modules.join('\n')}`);
  // The worker reads these, not this shell; lacking here, they may well lack there too (the run would fail at its start).
  const envRefs = await lazy('../config/unset-env-refs');
  const unset = envRefs.unsetEnvRefs(integration, process.env);
  if (unset.length) console.error(`note: not set in this shell; the workers need them, or the run fails at its start: ${envRefs.describeUnset(input.integration, unset)}`);
  // The source's setup, when it answers here: a config error it finds starts nothing and writes nothing.
  const sources = await lazy('../sources/create-source');
  const problem = await sources.sourceSetupProblem(integration.source, integration.id, process.env, 5_000, sources.sinkKeyFromSource(integration));
  if (problem) refuse(`error: ${input.integration}: ${problem}`);
  // The target's too (missing without sink.create, no unique index on the key, a declared type it lacks), when the
  // sink answers here. With a mapping, the source's columns are not the target's.
  const declared = integration.mapping ? [] : (await lazy('../sources/declared-columns')).declaredColumns(integration.source);
  const sinkProblem = await (await lazy('../sinks/sink-setup-problem')).sinkSetupProblem(integration.sink, declared);
  if (sinkProblem) refuse(`error: ${input.integration}: ${sinkProblem}`);
  const { connectClient, startIntegrationRun, IntegrationBusyError } = await lazy('../client');
  const client = await connectClient();
  const since = Date.now();
  try {
    const other = await backfillElsewhere(client, integration);
    // A sync beside it would find the integration busy and be skipped (a backfill under another id: the Temporal UI or CLI).
    if (other && kind === 'sync' && !cronSchedule) refuse(`error: ${input.integration}: a backfill is running as workflow ${other} (started under an id of its own): a sync now would find the integration busy and read nothing. Follow it with \`tidemark status ${input.integration}\`; the next sync continues after it`);
    if (other && joinRunningBackfill) {
      console.log(`${other} is a backfill of ${input.integration}, still running: it continues from its checkpoint by itself; nothing new started`);
      if (wait) await waitAndReport(client, client.workflow.getHandle(other), since, input.integration);
      return;
    }
    if (other) refuse(`error: ${input.integration}: a backfill is running as workflow ${other} (started under an id of its own): another would wait for it and then read everything again. Follow it with \`tidemark status ${input.integration}\`, or stop it first (\`tidemark cancel ${input.integration}\`)`);
    const started = await startIntegrationRun(client, kind, input, undefined, { cronSchedule }).catch(async (err: unknown) => {
      if (!joinRunningBackfill || !(err instanceof IntegrationBusyError)) throw err;
      const running = client.workflow.getHandle(err.workflowId);
      if ((await running.describe()).type !== 'backfillWorkflow') throw err;
      // A stalled backfill (its worker killed) is retried from its checkpoint as soon as a worker takes its task:
      // nothing to start, and refusing it as "busy" read as if it could not be continued (an acceptance run).
      console.log(`${err.workflowId} is this backfill, still running: it continues from its checkpoint by itself (a stalled attempt is retried as soon as a worker on the task queue takes it; \`tidemark status ${input.integration}\` shows it); nothing new started`);
      return { joined: running };
    });
    if ('joined' in started) {
      if (wait) await waitAndReport(client, started.joined, since, input.integration);
      return;
    }
    const handle = started;
    const what = cronSchedule ? `cron workflow (${cronSchedule}) ` : '';
    console.log(`started ${kind === 'sync' ? 'syncWorkflow' : 'backfillWorkflow'} ${what}${handle.workflowId} (run ${handle.firstExecutionRunId})`);
    if (wait) await waitAndReport(client, handle, since, input.integration);
  } finally {
    // After an outage the connection may fail to close: the outcome is printed already, and its exit code stands
    // (a CI run saw exit 1 after "completed" once the server had been restarted).
    await (await lazy('./close-client')).closeClient(client);
  }
}

export function registerRunCommands(program: Command): void {
  program
    .command('sync <id>')
    .description('one incremental run of integration <id> now, from its checkpoint')
    .option('--wait', 'block until the run ends; exit 0 only if it completed')
    .option('--cron <expression>', 'instead: start a cron workflow that runs the sync on this schedule (each run continues from the last)')
    .option('--force-deletes', 'reconcile deletes after this run even if not due, and past deletes.maxFraction (sink.deletes.maxFraction for an API)')
    .action(async (id: string, opts: { wait?: boolean; cron?: string; forceDeletes?: boolean }, cmd: Command) => {
      if (opts.cron && opts.wait) cmd.error('error: --wait and --cron do not go together: a cron workflow never ends on its own');
      if (opts.cron && opts.forceDeletes) cmd.error('error: --force-deletes is for one run, not a cron workflow: run `tidemark sync <id> --force-deletes` once');
      const badCron = opts.cron !== undefined ? (await lazy('../config/cron')).cronProblem(opts.cron) : undefined;
      if (badCron) cmd.error(`error: --cron '${opts.cron}' ${badCron}`);
      await startAndMaybeWait(cmd, 'sync', { integration: id, ...(opts.forceDeletes ? { forceDeletes: true } : {}) }, !!opts.wait, opts.cron);
    });

  program
    .command('backfill <id>')
    .description('a full re-read from the start (or after --from), resumable and idempotent')
    .option('--from <cursor-json>', 'start after this cursor (JSON, as `tidemark checkpoint show` prints it; null: from the start)')
    .option('--shards <n>', 'split the key range into N ranges read in parallel (by any workers on the task queue)', wholeNumber(1, 64))
    .option('--rate <rows-per-second>', 'limit the whole run to this many rows per second (change it later with `tidemark tune`)', parseRate)
    .option('--batch-size <n>', "page size for this run instead of the config's batchSize", parseBatchSize)
    .option('--wait', 'block until the run ends; exit 0 only if it completed')
    .action(async (id: string, opts: { from?: string; shards?: number; rate?: number; batchSize?: number; wait?: boolean }, cmd: Command) => {
      const from = opts.from !== undefined ? await fromArg(cmd, id, opts.from) : undefined;
      if (opts.shards && opts.shards > 1) {
        const { shardsRefusal } = await lazy('../sources/shard-support');
        const refusal = shardsRefusal((await lazy('./context')).loadIntegration(cmd, id).integration.source);
        if (refusal) refuse(`error: --shards ${opts.shards}: ${refusal}`);
      }
      const input = {
        integration: id,
        ...(from !== undefined ? { from } : {}),
        ...(opts.shards ? { shards: opts.shards } : {}),
        ...(opts.rate ? { rate: opts.rate } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      };
      await startAndMaybeWait(cmd, 'backfill', input, !!opts.wait);
    });

  program
    .command('resume <id>')
    .description('continue a stalled, failed, cancelled or terminated backfill from its checkpoint (one still running continues by itself: followed with --wait)')
    .option('--wait', 'block until the run ends; exit 0 only if it completed')
    .action(async (id: string, opts: { wait?: boolean }, cmd: Command) => {
      const refusal = await resumeRefusalOf(cmd, id);
      if (refusal) refuse(`error: ${refusal}`);
      await startAndMaybeWait(cmd, 'backfill', { integration: id, resume: true }, !!opts.wait, undefined, true);
    });
}
