import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities';
import type { RunResult } from '../activities/types';
import { runActivityOptions } from './activity-options';
import { parseBackfillInput } from './validate-input';

const { runIntegration } = proxyActivities<Activities>(runActivityOptions('backfill'));

/**
 * A full re-read from the start (or after `from`), bounded by the high-water mark taken when it
 * starts; `resume: true` continues the last backfill from its checkpoint instead.
 */
export async function backfillWorkflow(input: unknown): Promise<RunResult> {
  const parsed = parseBackfillInput(input);
  if (parsed.shards !== undefined && parsed.shards > 1) {
    throw ApplicationFailure.nonRetryable('shards > 1 is not supported by this version of tidemark yet: run with shards 1 (the default)', 'InvalidWorkflowInput');
  }
  const info = workflowInfo();
  return await runIntegration({
    integration: parsed.integration,
    mode: parsed.resume ? 'resume' : 'backfill',
    ...(parsed.from !== undefined ? { from: parsed.from } : {}),
    runKey: `${info.workflowId}/${info.runId}`,
  });
}
