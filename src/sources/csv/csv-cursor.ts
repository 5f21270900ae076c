import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidCursorError } from '../../cursor/cursor';

/**
 * The CSV cursor, a plain JSON value:
 *   { "offset": 48213, "line": 1201, "head": "3f9a0c…", "tail": "b71e22…" }
 * - offset: the byte just after the last committed record, its line break included (BOM counted):
 *   an open lower end, the next read starts exactly there;
 * - line: line breaks before offset (so error messages name the file's own line numbers after a resume);
 * - head: fingerprint of the file's first line (the header, or the first record without one);
 * - tail: fingerprint of the TAIL_BYTES bytes before offset.
 * head and tail tell a file that was only appended to (both unchanged) from one that was replaced or
 * rewritten. A hand-written cursor (`backfill --from`) may give only `offset` (the start of a record);
 * then nothing is checked. `null` means from the first record.
 */
export const csvCursorSchema = z
  .strictObject({
    offset: z.number().int().nonnegative(),
    line: z.number().int().nonnegative().optional(),
    head: z.string().regex(/^[0-9a-f]{16}$/).optional(),
    tail: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  })
  .nullable();

export type CsvCursor = z.infer<typeof csvCursorSchema>;

/** Bytes before the offset covered by `tail`: enough to tell a rewritten file from an appended one. */
export const TAIL_BYTES = 64;

export function parseCsvCursor(value: unknown): CsvCursor {
  const parsed = csvCursorSchema.safeParse(value ?? null);
  if (!parsed.success) {
    throw new InvalidCursorError(value, 'null or a CSV cursor { "offset": <byte offset of a record start>, "line"?, "head"?, "tail"? }');
  }
  return parsed.data;
}

/** The later cursor: the larger offset (null is the start of the file). */
export function laterCsvCursor(a: CsvCursor, b: CsvCursor): CsvCursor {
  if (!a) return b;
  if (!b) return a;
  return b.offset > a.offset ? b : a;
}

export function fingerprint(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
