import { z } from 'zod';
import type { HttpPagination } from '../../config/http-source-schema';
import { InvalidCursorError, type Cursor } from '../../cursor/cursor';
import { compareTimes, isTimestamp } from './time-key';

/**
 * The cursor of each pagination style: a plain JSON value (it is stored in workflow history and in
 * tidemark.checkpoints), holding only positions the API gave us, never a URL or a header. `null`
 * means "from the start".
 *
 * - cursor:         {"token": "<the API's next-page token>"}
 * - starting_after: {"startingAfter": <id of the last record read>}
 * - page:           {"since": T|null} between passes; {"since": T|null, "page": n, "perPage": k, "until": U}
 *                   inside a pass: pages 1..n of updated_since=T at k per page are written, and the
 *                   next pass starts at U
 * - time_window:    {"from": T}: every record with field < T is written; the next read starts at T
 */
const timestamp = z.string().refine(isTimestamp, 'an ISO-8601 timestamp');

const schemas = {
  cursor: z.strictObject({ token: z.string().min(1) }),
  starting_after: z.strictObject({ startingAfter: z.union([z.string().min(1), z.number()]) }),
  page: z.union([
    z.strictObject({ since: timestamp.nullable(), page: z.number().int().min(0), perPage: z.number().int().min(1), until: timestamp }),
    z.strictObject({ since: timestamp.nullable() }),
  ]),
  time_window: z.strictObject({ from: timestamp }),
} as const;

const EXPECTED: Record<HttpPagination['style'], string> = {
  cursor: 'null or {"token": "<next-page token>"}',
  starting_after: 'null or {"startingAfter": <last id>}',
  page: 'null, {"since": "<ISO time>"|null} or {"since": …, "page": <n>, "perPage": <k>, "until": "<ISO time>"}',
  time_window: 'null or {"from": "<ISO time>"}',
};

export type TokenCursor = z.infer<typeof schemas.cursor>;
export type StartingAfterCursor = z.infer<typeof schemas.starting_after>;
export type PageCursor = z.infer<(typeof schemas)['page']>;
export type TimeWindowCursor = z.infer<typeof schemas.time_window>;

export function parseHttpCursor(style: HttpPagination['style'], value: unknown): Cursor {
  if (value === null || value === undefined) return null;
  const r = schemas[style].safeParse(value);
  if (!r.success) throw new InvalidCursorError(value, `${EXPECTED[style]} (http source, pagination style ${style})`);
  return r.data as Cursor;
}

/**
 * The later of two cursors where the style has an order: times, then page numbers; integer ids.
 * Opaque tokens (and non-numeric ids) cannot be compared: the first one, which the activity passes as
 * the durable checkpoint, wins.
 */
export function laterHttpCursor(style: HttpPagination['style'], a: Cursor, b: Cursor): Cursor {
  const x = parseHttpCursor(style, a);
  const y = parseHttpCursor(style, b);
  if (x === null) return y;
  if (y === null) return x;
  switch (style) {
    case 'cursor':
      return x;
    case 'starting_after':
      return compareIds((x as StartingAfterCursor).startingAfter, (y as StartingAfterCursor).startingAfter) < 0 ? y : x;
    case 'page':
      return comparePage(x as PageCursor, y as PageCursor) < 0 ? y : x;
    case 'time_window':
      return compareTimes((x as TimeWindowCursor).from, (y as TimeWindowCursor).from) < 0 ? y : x;
  }
}

const INTEGER = /^-?\d+$/;

function compareIds(a: string | number, b: string | number): number {
  const ia = typeof a === 'number' ? Number.isInteger(a) : INTEGER.test(a);
  const ib = typeof b === 'number' ? Number.isInteger(b) : INTEGER.test(b);
  if (!ia || !ib) return 0; // no order we can be sure the API shares
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function comparePage(a: PageCursor, b: PageCursor): number {
  if (a.since !== b.since) {
    if (a.since === null) return -1;
    if (b.since === null) return 1;
    const c = compareTimes(a.since, b.since);
    if (c !== 0) return c;
  }
  return ('page' in a ? a.page : -1) - ('page' in b ? b.page : -1);
}
