import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * Runs a workflow's body; when an activity failed for good (a non-retryable ApplicationFailure: an unknown
 * integration, a config the worker refuses, a cursor the source cannot read), the workflow fails with that
 * failure's own message and type on top, not Temporal's "Activity task failed" wrapper: the Temporal UI and
 * `temporal workflow start` show the first line (an acceptance run). Its cause is the activity's failure as it
 * came, so readers of the chain's second link (`failureMessage`, `status`) read what they read before.
 * No patch: replay compares the command (fail the workflow), not the failure it carries (test/replay: histories
 * that failed the old way), and a patch marker's payload is written by the SDK's core in plain JSON, which an
 * encrypted history must not hold (the secrets chaos check found two).
 */
export async function liftingPermanentFailure<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (!(cause instanceof ApplicationFailure) || !cause.nonRetryable) throw err;
    throw ApplicationFailure.create({ message: cause.message, type: cause.type ?? undefined, nonRetryable: true, details: cause.details ?? [], cause });
  }
}
