import { InvalidCursorError, type Cursor, type JsonValue } from '../cursor/cursor';
import { PermanentError } from '../errors';
import type { Source } from '../sources/source';

/**
 * A cursor tidemark stored itself (a checkpoint slot) that the source no longer accepts: source.cursor (or the
 * source) changed since it was saved. Not bad input (the run's row records it, `status --all` shows it failing),
 * and the message says how to go on, which the bare "invalid cursor" did not (an acceptance run).
 */
export class StoredCursorMismatchError extends PermanentError {
  override readonly name = 'StoredCursorMismatchError';
  constructor(
    readonly integration: string,
    readonly slot: string,
    readonly cursor: unknown,
    readonly expected: string,
  ) {
    super(`the ${slot} checkpoint holds cursor ${JSON.stringify(cursor)}, which does not fit source.cursor now (expected ${expected}): the cursor or the source changed since it was saved. ${howToGoOn(integration, slot)}`);
  }
}

function howToGoOn(integration: string, slot: string): string {
  return slot === 'sync'
    ? `\`tidemark checkpoint reset ${integration} --yes\` makes the next sync start from the beginning; \`tidemark checkpoint set ${integration} '<cursor>' --yes\` starts it at a cursor of the new shape`
    : `Start a new backfill: \`tidemark backfill ${integration}\` (\`--from '<cursor>'\` to start at a cursor of the new columns)`;
}

/**
 * A checkpoint saved for other cursor columns than source.cursor names now (same shape, another meaning: a position
 * in `updated_at` read as one in `created_at` skips rows; an acceptance run lost 100). Refused, never reused.
 */
export class CheckpointCursorChangedError extends PermanentError {
  override readonly name = 'CheckpointCursorChangedError';
  constructor(
    readonly integration: string,
    readonly slot: string,
    readonly saved: JsonValue,
    readonly now: JsonValue,
  ) {
    super(`the ${slot} checkpoint of ${integration} was saved for cursor ${describeOf(saved)}, but source.cursor is now ${describeOf(now)}: its position is not a position in the new cursor, and reading from it would skip rows. ${howToGoOn(integration, slot)}`);
  }
}

const describeOf = (of: JsonValue): string => {
  const columns = (of as { columns?: unknown } | null)?.columns;
  return Array.isArray(columns) ? `[${columns.join(', ')}]` : JSON.stringify(of);
};

/** Refuses a slot saved for another cursor than `now` (cursorIdentity); one saved before migration 018 (null) passes. */
export function checkCursorOf(saved: { cursorOf: JsonValue; cursor: Cursor; untilCursor?: Cursor } | undefined, now: JsonValue, integration: string, slot: string): void {
  if (!saved || saved.cursorOf === null || now === null) return;
  // From the beginning to the end is the same range in any columns (a reset, a first sync of an empty table: review).
  if (saved.cursor === null && (saved.untilCursor ?? null) === null) return;
  if (savedForOther(saved.cursorOf, now)) throw new CheckpointCursorChangedError(integration, slot, saved.cursorOf as JsonValue, now);
}

/** Whether a slot was saved for other cursor columns than `now` (both recorded: cursorIdentity). */
export function savedForOther(saved: JsonValue | undefined, now: JsonValue): boolean {
  return saved != null && now !== null && JSON.stringify(saved) !== JSON.stringify(now);
}

/** `source.parseCursor` of a cursor read from checkpoint slot `slot`. */
export function storedCursor(source: Source, value: unknown, integration: string, slot: string): Cursor {
  try {
    return source.parseCursor(value);
  } catch (err) {
    if (err instanceof InvalidCursorError) throw new StoredCursorMismatchError(integration, slot, value, err.expected);
    throw err;
  }
}
