import { hostname } from 'node:os';
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { isPermanent, PermanentError } from '../errors';

/** Permanent errors fail the run at once with their class name as the failure type; the rest retry. */
export function toFailure(err: unknown): unknown {
  if (!(err instanceof ApplicationFailure) && (err as { code?: unknown } | null)?.code === '25006') return readOnlyNamed(err as Error);
  if (err instanceof ApplicationFailure || !isPermanent(err)) return err;
  const e = err as Error & { code?: string };
  const type = err instanceof PermanentError ? e.name : `PostgresError${e.code ?? ''}`;
  // The worker's config, not the CLI's, decides what an id means (found by an acceptance run: workers on one queue
  // with different configs failed runs at random, and the message read like the user's own config).
  const whose = WORKER_CONFIG_ERRORS.has(e.name) ? ` (in the config of the worker that ran this, pid ${process.pid} on ${hostname()}: every worker on a task queue must load the same config; restart the workers after changing it)` : '';
  return ApplicationFailure.create({ message: `${e.message}${whose}`, type, nonRetryable: true });
}

/**
 * "cannot execute INSERT in a read-only transaction", retried as before (a standby being promoted), with what to look
 * at: an acceptance run's sink role had default_transaction_read_only on, and the retries named neither database.
 */
function readOnlyNamed(err: Error): Error {
  if (/read-only \(default_transaction_read_only/.test(err.message)) return err;
  const why = "the database's sessions are read-only (default_transaction_read_only for the sink role or its database, or sink.url or sink.stateUrl points at a standby)";
  return Object.assign(new Error(`${err.message}: ${why}`, { cause: err }), { code: '25006' });
}

/**
 * The failure with its message led by `prefix` (a shard's slot), as a new object: an error may be shared between the
 * shards of one worker (a token refresh they wait on together), which collected each shard's prefix in place (the review).
 */
export function prefixed(failure: unknown, prefix: string): unknown {
  if (!(failure instanceof Error) || (failure instanceof TemporalFailure && !(failure instanceof ApplicationFailure))) return failure;
  const f = failure instanceof ApplicationFailure ? failure : undefined;
  // As Temporal makes a failure of a thrown error: its class's name is the type (what retry policies match).
  const copy = ApplicationFailure.create({
    message: `${prefix}${failure.message}`,
    type: f ? (f.type ?? undefined) : (failure.constructor?.name ?? failure.name),
    nonRetryable: f?.nonRetryable ?? false,
    ...(f?.details ? { details: f.details as unknown[] } : {}),
    ...(failure.cause instanceof Error ? { cause: failure.cause } : {}),
    ...(f?.nextRetryDelay ? { nextRetryDelay: f.nextRetryDelay } : {}),
    ...(f?.category ? { category: f.category } : {}),
  });
  if (failure.stack) copy.stack = failure.stack;
  return copy;
}

/** Errors that say what the worker's own config lacks (an integration, a template, an instance of one). */
const WORKER_CONFIG_ERRORS = new Set(['UnknownIntegrationError', 'UnknownTemplateError']);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether Temporal will not retry this attempt's `failure` (toFailure's): non-retryable, or its retry policy's attempts used up. */
export function failsForGood(ctx: Context, failure: unknown): boolean {
  if (failure instanceof ApplicationFailure && failure.nonRetryable) return true;
  const max = ctx.info.retryPolicy?.maximumAttempts;
  return max !== undefined && max > 0 && ctx.info.attempt >= max;
}

/**
 * A failure of the run's input, not of the integration (a cursor the source refuses, nothing to resume, shards of a
 * source that cannot split): the run writes nothing at all, not even its row in tidemark.runs (bad input leaves the
 * database as it was, and `status --all` does not call a healthy integration failing).
 */
export function isInputError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'InvalidCursorError' || name === 'NothingToResumeError' || name === 'ShardingNotSupportedError';
}
