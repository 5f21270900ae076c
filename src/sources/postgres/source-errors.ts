import { formatDuration } from '../../config/duration';
import { splitTableName } from '../../config/identifiers';
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

/**
 * Row-level security applies to the source table for the role tidemark reads as (its session sets row_security off,
 * so PostgreSQL refuses instead of filtering: 42501). An acceptance run read what a policy showed without a word, and
 * a deletes reconciliation then removed the hidden rows from the target.
 */
export class SourceRowSecurityError extends PermanentError {
  override readonly name = 'SourceRowSecurityError';
  constructor(
    readonly table: string,
    cause: Error & { hint?: string },
  ) {
    super(
      `source table ${table}: row-level security applies to the role tidemark reads as (${cause.message}${cause.hint ? `; ${cause.hint}` : ''}), so a read could miss rows ` +
        'its policies hide (and a deletes reconciliation would remove them from the target). Read as a role no policy applies to (one with BYPASSRLS, or the table\'s owner ' +
        'unless the table FORCEs row-level security), or set source.rowSecurity: apply to read what the policies show (deletes are then never reconciled)',
      { cause },
    );
  }
}

/** PostgreSQL's refusal of a query that row-level security would filter (row_security = off). */
export function isRowSecurityRefusal(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '42501' && /row-level security/i.test(String((err as Error | null)?.message));
}

/** The role tidemark reads the source as may not read the table (42501, other than row-level security). */
export class SourcePrivilegeError extends PermanentError {
  override readonly name = 'SourcePrivilegeError';
  constructor(
    readonly table: string,
    readonly role: string,
    cause: Error,
  ) {
    super(
      `source table ${table}: the role ${role} may not read it (${cause.message}): GRANT USAGE ON SCHEMA ${splitTableName(table).schema} TO ${role} and GRANT SELECT ON ${table} TO ${role} ` +
        '(SELECT on the whole table, not on some columns: tidemark reads every column it copies, and its cursor)',
      { cause },
    );
  }
}

/**
 * The table changed under a run (42703 undefined_column, 42P01 undefined_table): a column dropped or renamed, or the
 * table itself, after the run described it. PostgreSQL's bare "column "note" does not exist" named neither the
 * table nor what to do (an acceptance run). Retryable: the next attempt describes the table again from its
 * checkpoint, and a config that no longer fits it then fails naming the field.
 */
export class SourceTableChangedError extends Error {
  override readonly name = 'SourceTableChangedError';
  constructor(
    readonly table: string,
    cause: Error,
  ) {
    super(`source table ${table} changed while the run read it (${cause.message}: dropped or renamed since the run described the table); the run is retried from its checkpoint and describes the table again`, { cause });
  }
}
