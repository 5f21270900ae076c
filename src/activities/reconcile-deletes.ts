import { Context, log } from '@temporalio/activity';
import { getIntegration, isHttpSink, isPostgresSource, stateDbUrlOf, type Integration } from '../config';
import { closeQuietly } from '../pg/connect';
import { openStateSession } from '../db/state-session';
import { IntegrationBusyError, reconcileLedgerDeletes, reconciliationDue, sharedTargetOf, verifyIntegration, type LedgerIntegration } from '../verify';
import { errorMessage, failsForGood, toFailure } from './failures';
import { finishRun } from '../db/state';
import type { ActivityDeps } from './run-integration';
import type { RunInput, RunResult } from './types';

/** runIntegration's result as the sync workflow sees it: `reconcileDeletes` set when the integration has `deletes`. */
export interface SyncRunResult extends RunResult {
  reconcileDeletes?: true;
}

/** What a sync workflow returns: a run's result, plus the rows its reconciliation deleted when one ran. */
export type SyncWorkflowResult = RunResult & { deleted?: number };

export interface ReconcileInput {
  integration: string;
  /** the sync run reconciling: its tidemark.runs row counts the deleted rows */
  runKey: string;
  /** reconcile now (due or not) and go past maxFraction: `tidemark sync <id> --force-deletes` */
  force?: boolean;
}

export interface ReconcileResult {
  /** disabled: no `deletes` in the config (any more); not-due: reconcileEvery has not passed; busy: another run holds the lock */
  status: 'disabled' | 'not-due' | 'busy' | 'completed';
  deleted: number;
}

const HEARTBEAT_MS = 5_000;

/**
 * Flags a sync run's result when its integration propagates deletes, so the workflow (which cannot read
 * config) calls reconcileDeletes only then: integrations without `deletes` keep their history. Declared
 * as returning RunResult, which SyncRunResult only extends with an optional field.
 */
export function withDeletesFlag(deps: ActivityDeps, run: (input: RunInput) => Promise<RunResult>) {
  return async function runIntegration(input: RunInput): Promise<RunResult> {
    const result = await run(input);
    if (input.mode !== 'sync' || input.shard !== undefined) return result;
    const flagged: SyncRunResult = { ...result, reconcileDeletes: true };
    // The run is committed: a config reloaded without this integration must not fail (and so retry) it.
    const it = deps.config().integrations.find((i) => i.id === input.integration);
    return it && deletesOf(it) ? flagged : result;
  };
}

/** How often deletes are reconciled: `deletes` (a PostgreSQL sink's target table) or `sink.deletes` (an HTTP sink's delivery ledger). */
function deletesOf(it: Integration): { reconcileEvery: number } | undefined {
  return it.deletes ?? (isHttpSink(it.sink) ? it.sink.deletes : undefined);
}

function isLedgerIntegration(it: Integration): it is LedgerIntegration {
  return isHttpSink(it.sink) && it.sink.deletes !== undefined && isPostgresSource(it.source);
}

/**
 * After a sync run: when `deletes.reconcileEvery` has passed since the last completed reconciliation,
 * remove target rows whose key the source no longer has (verify --delete on key checksums), guarded by
 * `deletes.maxFraction` (TooManyDeletesError, non-retryable). With an HTTP sink (`sink.deletes`), the
 * delivery ledger is the target: its keys gone from the source are sent as DELETE (reconcileLedgerDeletes,
 * TooManyDeliveryDeletesError). `force` (sync --force-deletes): now, and past maxFraction. Returns at once
 * when not due, and gives way (busy) when another run holds the integration's lock: the next sync run tries again.
 */
export function makeReconcileDeletes(deps: ActivityDeps) {
  return async function reconcileDeletes(input: ReconcileInput): Promise<ReconcileResult> {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
    let db;
    try {
      const it = getIntegration(deps.config(), input.integration);
      const deletes = deletesOf(it);
      if (!deletes) return { status: 'disabled', deleted: 0 };
      db = await openStateSession(stateDbUrlOf(it, deps.env), { applicationName: 'tidemark-reconcile' });
      if (!input.force && !(await reconciliationDue(db, it.id, deletes.reconcileEvery))) return { status: 'not-due', deleted: 0 };
      if (isLedgerIntegration(it)) {
        await closeQuietly(db); // reconcileLedgerDeletes takes the integration's lock on a session of its own
        db = undefined;
        const summary = await reconcileLedgerDeletes(it, { force: input.force, runKey: input.runKey, env: deps.env, signal: ctx.cancellationSignal, onProgress: () => ctx.heartbeat() });
        log.info('deletes reconciled against the delivery ledger', { integration: it.id, ...summary });
        return { status: 'completed', deleted: summary.deleted };
      }
      const sharedTarget = sharedTargetOf(deps.config(), it);
      const report = await verifyIntegration(it, {
        ...(sharedTarget ? { sharedTarget } : {}),
        delete: true,
        keysOnly: true,
        force: !!input.force,
        maxFraction: it.deletes?.maxFraction,
        runKey: input.runKey,
        env: deps.env,
        signal: ctx.cancellationSignal,
        onProgress: () => ctx.heartbeat(),
      });
      const deleted = report.deletes?.deleted ?? 0;
      log.info('deletes reconciled', { integration: it.id, ranges: report.ranges, differing: report.differing.length, deleted });
      return { status: 'completed', deleted };
    } catch (err) {
      if (err instanceof IntegrationBusyError) {
        log.warn('deletes not reconciled: another run holds the integration lock; the next sync run tries again', { integration: input.integration });
        return { status: 'busy', deleted: 0 };
      }
      const failure = toFailure(err);
      // Only a failure that ends the workflow: a retried one may still complete (review).
      if (failsForGood(ctx, failure)) await recordRefusal(deps, input, err);
      throw failure;
    } finally {
      clearInterval(beat);
      await closeQuietly(db);
    }
  };
}

/**
 * The sync's run row says the run failed when its reconciliation did (the delete guard refused, the source was
 * unreachable): the rows it wrote stay committed, but `runs` and `status --all` must not call it completed while
 * deletes are stuck (found by an acceptance run). Best effort: the workflow's failure says it anyway.
 */
async function recordRefusal(deps: ActivityDeps, input: ReconcileInput, err: unknown): Promise<void> {
  let db;
  try {
    const it = getIntegration(deps.config(), input.integration);
    db = await openStateSession(stateDbUrlOf(it, deps.env), { applicationName: 'tidemark-reconcile' });
    await finishRun(db, input.runKey, 'failed', `deletes not reconciled: ${errorMessage(err)}`);
  } catch {
    // the failure below is what the workflow reports
  } finally {
    await closeQuietly(db);
  }
}
