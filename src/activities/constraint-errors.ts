import { PermanentError } from '../errors';

/** SQLSTATE class 23: the target refused a row (its constraints), which no retry fixes. */
const CONSTRAINT_NAMES: Record<string, string> = {
  '23000': 'integrity_constraint_violation',
  '23001': 'restrict_violation',
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '23P01': 'exclusion_violation',
};

export interface PgConstraintError extends Error {
  code: string;
  constraint?: string;
  detail?: string;
  table?: string;
  column?: string;
  /** PostgreSQL's context: for a COPY, `COPY t, line 3, column amount: "abc"` */
  where?: string;
}

/** SQLSTATE class 22 (data exception): a value the column's type refuses, e.g. "abc" for numeric, 123456 for numeric(5,2). */
export function isBadValue(err: unknown): err is PgConstraintError {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.length === 5 && code.startsWith('22');
}

/** What the target refused of a row, for its dead letter: a constraint, or a value its column cannot hold. */
export function describeRefusal(err: PgConstraintError): string {
  if (!isBadValue(err)) return describeConstraintError(err);
  const column = /, column ([^:]+):/.exec(err.where ?? '')?.[1];
  return `the target refuses a value${column ? ` in column ${column}` : ''}: ${err.message} (SQLSTATE ${err.code})`;
}

export function isConstraintViolation(err: unknown): err is PgConstraintError {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.length === 5 && code.startsWith('23');
}

/** "check_violation (23514) on orders_total_check: new row … violates …" */
export function describeConstraintError(err: PgConstraintError): string {
  const name = CONSTRAINT_NAMES[err.code] ?? 'integrity_constraint_violation';
  const on = err.constraint ? ` on ${err.constraint}` : err.column ? ` on column ${err.column}` : '';
  const detail = err.detail ? ` (${err.detail.length > 300 ? `${err.detail.slice(0, 300)}…` : err.detail})` : '';
  return `${name} (${err.code})${on}: ${err.message}${detail}`;
}

/** The target refused rows that could not be pinned to single rows (rows of the page conflict with each other). */
export class ConstraintViolationError extends PermanentError {
  override readonly name = 'ConstraintViolationError';
  readonly sqlstate: string;
  readonly constraint: string | null;
  constructor(
    err: PgConstraintError,
    readonly where: string,
  ) {
    super(
      `${where}: the target refused the page and the rows at fault could not be isolated: ${describeRefusal(err)}. ` +
        'Fix the target table or the data (the checkpoint stays before this page), then resume or sync again',
    );
    this.sqlstate = err.code;
    this.constraint = err.constraint ?? null;
  }
}

/** Too many rows of one page refused: almost always a target that does not fit the source (a NOT NULL, a CHECK). */
export class TooManyBadRowsError extends PermanentError {
  override readonly name = 'TooManyBadRowsError';
  readonly sqlstate: string;
  readonly constraint: string | null;
  constructor(
    err: PgConstraintError,
    readonly where: string,
    readonly found: number,
    readonly rows: number,
  ) {
    super(
      `${where}: the target refused ${found} or more of ${rows} rows, more than tidemark sends to dead letters per page; first: ` +
        `${describeRefusal(err)}. Fix the target table (or the data) — nothing of this page was written and the checkpoint stays before it — then resume or sync again`,
    );
    this.sqlstate = err.code;
    this.constraint = err.constraint ?? null;
  }
}
