import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities';
import type { RunResult } from '../activities/types';
import { runActivityOptions } from './activity-options';
import { parseSyncInput } from './validate-input';

const { runIntegration } = proxyActivities<Activities>(runActivityOptions('sync'));

/**
 * One incremental run: from the later of the durable checkpoint and the previous run's result
 * (lastResult is set for cron workflows and Schedules), up to now() - lag. One activity call, so the
 * history stays a handful of events whatever the row count.
 */
export async function syncWorkflow(input: unknown): Promise<RunResult> {
  const { integration } = parseSyncInput(input);
  const info = workflowInfo();
  const last = info.lastResult as RunResult | undefined;
  return await runIntegration({
    integration,
    mode: 'sync',
    ...(last && last.cursor !== undefined ? { after: last.cursor } : {}),
    runKey: `${info.workflowId}/${info.runId}`,
  });
}
