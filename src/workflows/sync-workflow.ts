import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities';
import type { SyncRunResult, SyncWorkflowResult } from '../activities/reconcile-deletes';
import type { RunResult } from '../activities/types';
import { recordCancelOptions, recordingCancellation, runActivityOptions, withFairness } from './activity-options';
import { liftingPermanentFailure } from './permanent-failure';
import { parseSyncInput } from './validate-input';

/**
 * One incremental run: from the later of the durable checkpoint and the previous run's result
 * (lastResult is set for cron workflows and Schedules), up to now() - lag. One activity call, so the
 * history stays a handful of events whatever the row count. When the integration has `deletes`, the
 * run's result says so and a second activity reconciles deletes (it returns at once unless
 * reconcileEvery has passed); without `deletes` the history is exactly what it was.
 */
export async function syncWorkflow(input: unknown): Promise<SyncWorkflowResult> {
  const parsed = parseSyncInput(input);
  return liftingPermanentFailure(() => sync(parsed));
}

async function sync({ integration, forceDeletes, fairnessWeight }: ReturnType<typeof parseSyncInput>): Promise<SyncWorkflowResult> {
  const info = workflowInfo();
  // reconcileDeletes heartbeats like a run and may compare a large table: the same timeouts and retries.
  const { runIntegration, reconcileDeletes } = proxyActivities<Activities>(withFairness(runActivityOptions('sync'), integration, info.priority, fairnessWeight));
  const { recordCancelled } = proxyActivities<Activities>(withFairness(recordCancelOptions(), integration, info.priority, fairnessWeight));
  const last = info.lastResult as RunResult | undefined;
  const runKey = `${info.workflowId}/${info.runId}`;
  const run: SyncRunResult = await recordingCancellation(
    () =>
      runIntegration({
        integration,
        mode: 'sync',
        ...(last && last.cursor !== undefined ? { after: last.cursor } : {}),
        runKey,
      }),
    () => recordCancelled({ integration, runKey, kind: 'sync', startedAt: info.runStartTime.getTime() }),
  );
  const { reconcileDeletes: wanted, ...result } = run;
  // A run cut short (busy, time budget) leaves reconciliation to the next one.
  if (!wanted || !result.done) return result;
  const reconciled = await reconcileDeletes({ integration, runKey, ...(forceDeletes ? { force: true } : {}) });
  return reconciled.status === 'completed' ? { ...result, deleted: reconciled.deleted } : result;
}
