import type { Priority } from '@temporalio/common';
import { ActivityCancellationType, ActivityFailure, CancellationScope, CancelledFailure, isCancellation, patched, TimeoutFailure, type ActivityOptions } from '@temporalio/workflow';

/**
 * One long-running activity per run. The heartbeat timeout is what notices a dead or hung worker
 * (about 30 s, well within a minute); retries resume from the checkpoint, so they are unlimited for
 * backfills. Cancellation waits for the activity to stop at a batch boundary.
 */
export const NON_RETRYABLE = [
  'ConfigError',
  'UnknownIntegrationError',
  'MissingEnvError',
  'InvalidCursorError',
  'TableNotFoundError',
  'SourceSetupError',
  'SinkSetupError',
  'NothingToResumeError',
  'LostOwnershipError',
  'MappingError',
  'SourceModuleError',
  'EncryptionKeyError',
  'ShardingNotSupportedError',
  'CsvFileError',
  'CsvHeaderError',
  'CsvFormatError',
  'CsvFileChangedError',
  'HttpStatusError',
  'HttpSourceError',
  'ConstraintViolationError',
  'TooManyBadRowsError',
  'SchemaDriftError',
  'TooManyDeletesError',
  'VerifyError',
  'AuthConfigError',
  'OAuthTokenRefusedError',
  'TokenStoreKeyError',
  'CredentialsRefusedError',
  'StoredCursorMismatchError',
];

export function runActivityOptions(kind: 'sync' | 'backfill'): ActivityOptions {
  return {
    startToCloseTimeout: kind === 'sync' ? '24 hours' : '30 days',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      ...(kind === 'sync' ? { maximumAttempts: 20 } : {}),
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  };
}

/**
 * Planning, finishing and tuning a backfill: short state-database work, retried on connection errors; for a backfill
 * as long as its reads are (no limit: a sharded backfill failed after 10 tries, 2.5 min, of a source outage that an
 * unsharded one rode out).
 */
export function shortActivityOptions(kind?: 'backfill'): ActivityOptions {
  return {
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', ...(kind === 'backfill' ? {} : { maximumAttempts: 10 }), nonRetryableErrorTypes: NON_RETRYABLE },
  };
}

/**
 * Marking a cancelled run's row (recordCancelled): a few quick tries, then the cancellation goes on. It is a note on
 * a row, and with the state database down the short options' ten tries held the cancel for about 3 minutes; a row
 * left `running` reads as a run with no workflow (status, runs). Options are not compared on replay.
 */
export function recordCancelOptions(): ActivityOptions {
  return {
    startToCloseTimeout: '15 seconds', // its connect gives up after 5 s (a database that does not answer at all)
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '4 seconds', maximumAttempts: 4, nonRetryableErrorTypes: NON_RETRYABLE },
  };
}

/** Temporal limits a fairness key to 64 bytes; integration ids are ASCII. */
const FAIRNESS_KEY_BYTES = 64;

/**
 * Task-queue fairness (a server with `matching.enableFairness`, as `tidemark dev` starts it): the run's
 * activities are dispatched in turn per integration or instance, so one customer's backlog of tasks does
 * not hold back the others'. A workflow started with a fairness key (an instance's Schedule, with the
 * instance's weight) passes it on to its activities by itself; a server without fairness ignores the key.
 * An instance's Schedule passes the instance's weight in the workflow input (`fairnessWeight`), not as the
 * action's priority: a server that does not echo a schedule action's priority would make every reconcile an update.
 */
export function withFairness(options: ActivityOptions, integration: string, started: Priority | undefined, weight?: number): ActivityOptions {
  if (started?.fairnessKey) return options;
  // `weight`: the instance's, from its Schedule's input. Without one the options are exactly as before, so recorded histories replay.
  return { ...options, priority: { ...started, fairnessKey: integration.slice(0, FAIRNESS_KEY_BYTES), ...(weight !== undefined ? { fairnessWeight: weight } : {}) } };
}

/**
 * Runs a workflow's body; when the workflow is cancelled while no activity of it runs (waiting to retry after a
 * failure), its run row is marked cancelled by `record` (which only touches a row still `running`), outside the
 * cancellation, then the cancellation goes on as before. Behind a patch, so histories recorded before replay as they were.
 */
export async function recordingCancellation<T>(body: () => Promise<T>, record: () => Promise<void>): Promise<T> {
  try {
    return await body();
  } catch (caught) {
    const err = cancelledAnyway(caught);
    if (isCancellation(err) && patched('cancel-records-run')) await CancellationScope.nonCancellable(record).catch(() => undefined);
    throw err;
  }
}

/**
 * A cancelled workflow whose activity timed out instead of confirming: its worker was gone (killed, or every
 * worker stopped), so nothing could tell it, and the server ends it by its heartbeat timeout. The operator asked
 * for the stop, so the run is cancelled, not failed (an acceptance run: FAILED after `tidemark cancel`). Behind a
 * patch, taken only on that path, so recorded histories replay as they were.
 */
function cancelledAnyway(err: unknown): unknown {
  if (isCancellation(err) || !CancellationScope.current().consideredCancelled) return err;
  if (!(err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) || !patched('cancel-outlasts-timeout')) return err;
  return new CancelledFailure(`cancelled; the run's activity could not confirm it and timed out (its worker was gone): ${err.cause.message}`, [], err);
}
