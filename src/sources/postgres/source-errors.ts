import { formatDuration } from '../../config/duration';
import { PermanentError } from '../../errors';

/** A source setting that cannot work with this table: fix the config or the table, retrying will not help. */
export class SourceSetupError extends PermanentError {
  override readonly name = 'SourceSetupError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * A source statement the server cancelled: source.statementTimeout ran out (a lock held on the table, a
 * missing index) or an operator cancelled it. Retryable: the next attempt resumes from the checkpoint.
 */
export class SourceStatementTimeoutError extends Error {
  override readonly name = 'SourceStatementTimeoutError';
  constructor(
    readonly table: string,
    readonly what: string,
    readonly timeoutMs: number,
    readonly timedOut: boolean,
  ) {
    const cause = timedOut
      ? `ran longer than source.statementTimeout (${formatDuration(timeoutMs)}) and PostgreSQL cancelled it (statement_timeout)`
      : `was cancelled on the server (statement_timeout of source.statementTimeout = ${formatDuration(timeoutMs)}, or an operator's pg_cancel_backend)`;
    super(
      `${what} on source table ${table} ${cause}: look for a lock held on the table (pg_locks) or a missing index, ` +
        'or raise source.statementTimeout; the run is retried from its checkpoint',
    );
  }
}
