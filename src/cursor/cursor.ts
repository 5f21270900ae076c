import { PermanentError } from '../errors';
import { z } from 'zod';

/**
 * Cursors are plain JSON values: each source defines its own shape and validates it with zod.
 * For a PostgreSQL source the cursor is the text of each keyset column of the last row read, in
 * cursor-column order, e.g. ["2024-05-01 10:00:00.123456+00", "42"]. Values travel as exact text:
 * a JS Date drops microseconds and would skip or repeat rows at the boundary.
 *
 * Ranges: the lower end is open (rows strictly after the cursor), `null` means "from the start".
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type Cursor = JsonValue;

export const keysetCursorSchema = z.array(z.string()).min(1).nullable();
export type KeysetCursor = z.infer<typeof keysetCursorSchema>;

export class InvalidCursorError extends PermanentError {
  override readonly name = 'InvalidCursorError';
  constructor(
    readonly cursor: unknown,
    readonly expected: string,
  ) {
    super(`invalid cursor ${JSON.stringify(cursor)}: expected ${expected}`);
  }
}

/** A backfill's `from` refused: the message names the input field (the bare one read like a stored checkpoint's). */
export function asFromError(err: unknown): unknown {
  if (err instanceof InvalidCursorError && !err.message.startsWith('from: ')) err.message = `from: ${err.message}`;
  return err;
}

/** Validates a keyset cursor against the configured cursor columns. */
export function parseKeysetCursor(value: unknown, columns: readonly string[]): KeysetCursor {
  const parsed = keysetCursorSchema.safeParse(value ?? null);
  const expected = `null or an array of ${columns.length} strings (values of ${columns.join(', ')})`;
  if (!parsed.success) throw new InvalidCursorError(value, expected);
  if (parsed.data && parsed.data.length !== columns.length) throw new InvalidCursorError(value, expected);
  return parsed.data;
}
