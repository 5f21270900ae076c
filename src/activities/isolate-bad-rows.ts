import type pg from 'pg';
import type { DeadLetterInput } from '../db/state';
import { decodeCopyValue } from '../pg/copy-text';
import type { BatchResult, PostgresSink, ScriptedTx } from '../sinks/postgres-sink';
import { ConstraintViolationError, describeRefusal, isBadValue, isConstraintViolation, TooManyBadRowsError, type PgConstraintError } from './constraint-errors';

/** A page with more rows than this refused by the target fails instead: that is the target, not a few rows. */
export const MAX_BAD_ROWS_PER_PAGE = 50;

export interface BadRow {
  /** Line of the page (0-based) */
  index: number;
  /** The row as COPY text (no newline) */
  line: string;
  error: PgConstraintError;
}

/** Runs inside the page's transaction with the rows set aside: dead letters, checkpoint, counters. */
export type PageTx = (client: pg.Client, result: BatchResult, bad: BadRow[]) => Promise<void>;

/** The sink's one public write: a page of COPY text in its own transaction with `alsoInTx`. */
type CopyWriter = Pick<PostgresSink, 'writeCopy'>;

const ROLLBACK = new Error('probe: roll back');
const NL = Buffer.from('\n');

/**
 * Writes a page; when the target refuses it (SQLSTATE class 23), finds the rows at fault and writes the
 * rest, with those rows passed to `alsoInTx` (to become dead letters) in the same transaction as the
 * page's checkpoint. Rows are found by bisection with trial writes that roll back (COPY text has one row
 * per line: embedded newlines are escaped). A second round, if the rest still fails, tries each half on
 * top of the rows already accepted, so rows that only clash with each other are found too.
 * Cost is bounded: more than MAX_BAD_ROWS_PER_PAGE (or more than half the page) fails non-retryable.
 */
export async function writeIsolatingBadRows(
  sink: CopyWriter,
  data: Buffer,
  count: number,
  alsoInTx: PageTx,
  where: string,
  /** Most rows set aside before failing; default MAX_BAD_ROWS_PER_PAGE, and at most half the page. */
  maxBad?: number,
  /** What `alsoInTx` does when no row is set aside, as a script (see ScriptedTx): the first try uses it. */
  script?: ScriptedTx,
  /** Which errors a row is set aside for: constraint violations (class 23) and values its column cannot hold (class 22). */
  refused: (err: unknown) => err is PgConstraintError = isRefusedRow,
): Promise<{ result: BatchResult; bad: BadRow[] }> {
  let failure: PgConstraintError;
  try {
    return { result: await sink.writeCopy(data, count, script ?? ((tx, res) => alsoInTx(tx, res, []))), bad: [] };
  } catch (err) {
    if (!refused(err)) throw err;
    failure = err;
  }
  const lines = splitLines(data);
  const probe = async (idx: number[]): Promise<PgConstraintError | undefined> => {
    try {
      await sink.writeCopy(joinLines(lines, idx), idx.length, async () => {
        throw ROLLBACK;
      });
    } catch (err) {
      if (err === ROLLBACK) return undefined;
      if (refused(err)) return err;
      throw err;
    }
    return undefined;
  };
  // The page alone, without the state writes: when it goes in, the error came from those (a dead letter's value,
  // the checkpoint), not from a row, and no row is to blame (the review).
  if (!(await probe(lines.map((_, i) => i)))) throw failure;
  const bad: BadRow[] = [];
  let rest = lines.map((_, i) => i);
  for (let round = 0; round < 3; round++) {
    const found: BadRow[] = [];
    const limit = maxBad ?? Math.min(MAX_BAD_ROWS_PER_PAGE, Math.max(1, Math.floor(lines.length / 2)));
    const isolate = async (set: number[], base: number[], known?: PgConstraintError): Promise<void> => {
      // Nothing left to blame (every row set aside and the write still fails: a trigger, not a row).
      if (!set.length) return;
      const err = known ?? (await probe([...base, ...set]));
      if (!err) return;
      if (set.length === 1) {
        const index = set[0] as number;
        found.push({ index, line: (lines[index] as Buffer).toString('utf8'), error: err });
        if (bad.length + found.length > limit) throw new TooManyBadRowsError(failure, where, bad.length + found.length, lines.length);
        return;
      }
      const mid = set.length >> 1;
      const left = set.slice(0, mid);
      await isolate(left, base);
      // Round 1 tests halves alone (cheap); later rounds on top of the accepted rows (catches rows that clash with each other).
      const accepted = round === 0 ? base : [...base, ...left.filter((i) => !found.some((f) => f.index === i))];
      await isolate(set.slice(mid), accepted);
    };
    // `failure` is what writing exactly `rest` just failed with (the page, then the rest of the last round).
    await isolate(rest, [], failure);
    if (!found.length) {
      // No row fails alone: rows clash with each other; the next round tries halves on top of the accepted rows.
      if (round === 0) continue;
      throw new ConstraintViolationError(failure, where);
    }
    bad.push(...found);
    const out = new Set(found.map((f) => f.index));
    rest = rest.filter((i) => !out.has(i));
    try {
      const result = await sink.writeCopy(joinLines(lines, rest), rest.length, (tx, res) => alsoInTx(tx, res, bad));
      return { result, bad };
    } catch (err) {
      if (!refused(err)) throw err;
      failure = err;
    }
  }
  throw new ConstraintViolationError(failure, where);
}

/** A refused row as a dead letter: the target row keyed by column name, re-insertable by `dead-letters --retry`. */
export function deadLetterOf(row: BadRow, columns: readonly string[], sourceLine?: number): DeadLetterInput {
  const fields = row.line.split('\t');
  const record = Object.fromEntries(columns.map((c, i) => [c, decodeCopyValue(fields[i] ?? '\\N')]));
  return {
    record,
    // A file's line, where the source has lines (CSV): the letter says where to look, as its own rejects do.
    reason: `${sourceLine !== undefined ? `line ${sourceLine}: ` : ''}${describeRefusal(row.error)}`,
    error: { sqlstate: row.error.code, constraint: row.error.constraint ?? null, detail: row.error.detail ?? null },
  };
}

function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, start)) {
    lines.push(data.subarray(start, i));
    start = i + 1;
  }
  if (start < data.length) lines.push(data.subarray(start));
  return lines;
}

function joinLines(lines: readonly Buffer[], idx: readonly number[]): Buffer {
  const parts: Buffer[] = [];
  for (const i of idx) parts.push(lines[i] as Buffer, NL);
  return Buffer.concat(parts);
}

/**
 * A row the target refuses: a constraint (class 23), or a value its column cannot hold (class 22: "abc" for an
 * integer, 123456 for numeric(5,2), a string too long). One such row used to fail the whole run with a bare
 * message, the integration stuck until the data changed (an acceptance run); now it is a dead letter like the other.
 */
export function isRefusedRow(err: unknown): err is PgConstraintError {
  return isConstraintViolation(err) || isBadValue(err);
}
