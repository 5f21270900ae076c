import { ApplicationFailure } from '@temporalio/common';

/**
 * Its workflow recorded the run cancelled (recordCancelled) before this activity wrote its row: nothing more is
 * written. Non-retryable; the workflow has ended, so the failure is only logged by the worker.
 */
export class RunCancelledError extends ApplicationFailure {
  constructor(runKey: string) {
    super(`run ${runKey} was cancelled by its workflow before it started writing: nothing was written`, 'RunCancelledError', true);
  }
}
