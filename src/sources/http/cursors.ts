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
 * - offset:         {"since": T|null} between passes; {"since": T|null, "offset": n, "until": U} inside a
 *                   pass: the first n records of since=T are written (the page size may change meanwhile);
 *                   with maxOffset, "anchor": A: the first n records after A (of since=T) are written
 * - time_window:    {"from": T}: every record with field < T is written; the next read starts at T
 * - time_slices:    {"from": T} between slices (every record created before T is written);
 *                   {"from": T, "to": U, "inner": <inner style's cursor>} inside the slice [T, U)
 * - feed:           {"since": T|null}: every record at or after T is written; inside a run
 *                   {"since": T, "newest": N, "inner": <inner style's cursor>}, the next run starting at N
 * - link_header, next_url: {"next": "/path?query"}, the next page's link as the API gave it, relative to
 *                   the source's origin, with credential parameters removed (they are added back from the
 *                   config on each request); with a sinceParam, {"since": T|null} between passes and
 *                   {"since": T|null, "next": …, "until": U} inside one
 */
const timestamp = z.string().refine(isTimestamp, 'an ISO-8601 timestamp');

/** A link relative to the source's origin: a path, never a host (a cursor must not send requests elsewhere). */
const relativeLink = z.string().min(1).refine((s) => s.startsWith('/') && !s.startsWith('//'), 'a path starting with "/"');
const linkSchema = z.union([
  z.strictObject({ since: timestamp.nullable(), next: relativeLink, until: timestamp }),
  z.strictObject({ next: relativeLink }),
  z.strictObject({ since: timestamp.nullable() }),
]);

const schemas = {
  cursor: z.strictObject({ token: z.string().min(1) }),
  starting_after: z.strictObject({ startingAfter: z.union([z.string().min(1), z.number()]) }),
  page: z.union([
    z.strictObject({ since: timestamp.nullable(), page: z.number().int().min(0), perPage: z.number().int().min(1), until: timestamp }),
    z.strictObject({ since: timestamp.nullable() }),
  ]),
  offset: z.union([z.strictObject({ since: timestamp.nullable(), offset: z.number().int().min(0), until: timestamp, anchor: z.union([z.string(), z.number()]).optional() }), z.strictObject({ since: timestamp.nullable() })]),
  time_window: z.strictObject({ from: timestamp }),
  link_header: linkSchema,
  next_url: linkSchema,
  // The inner cursor is checked by the inner style when the slice resumes.
  time_slices: z.union([z.strictObject({ from: timestamp, to: timestamp, inner: z.unknown() }), z.strictObject({ from: timestamp })]),
  feed: z.union([z.strictObject({ since: timestamp.nullable(), newest: timestamp.nullable(), inner: z.unknown() }), z.strictObject({ since: timestamp.nullable() })]),
} as const;

const EXPECTED: Record<HttpPagination['style'], string> = {
  cursor: 'null or {"token": "<next-page token>"}',
  starting_after: 'null or {"startingAfter": <last id>}',
  page: 'null, {"since": "<ISO time>"|null} or {"since": …, "page": <n>, "perPage": <k>, "until": "<ISO time>"}',
  offset: 'null, {"since": "<ISO time>"|null} or {"since": …, "offset": <n>, "until": "<ISO time>", "anchor"?: <id>}',
  time_window: 'null or {"from": "<ISO time>"}',
  link_header: 'null, {"next": "/path?query"}, {"since": "<ISO time>"|null} or {"since": …, "next": "/path?query", "until": "<ISO time>"}',
  next_url: 'null, {"next": "/path?query"}, {"since": "<ISO time>"|null} or {"since": …, "next": "/path?query", "until": "<ISO time>"}',
  feed: 'null, {"since": "<ISO time>"|null} or {"since": …, "newest": "<ISO time>"|null, "inner": <cursor of the inner style>}',
  time_slices: 'null, {"from": "<ISO time>"} or {"from": …, "to": "<ISO time>", "inner": <cursor of the inner style>}',
};

export type TokenCursor = z.infer<typeof schemas.cursor>;
export type StartingAfterCursor = z.infer<typeof schemas.starting_after>;
export type PageCursor = z.infer<(typeof schemas)['page']>;
export type TimeWindowCursor = z.infer<typeof schemas.time_window>;
export type OffsetCursor = z.infer<typeof schemas.offset>;
export type LinkCursor = z.infer<typeof linkSchema>;
export type TimeSliceCursor = z.infer<typeof schemas.time_slices>;
export type FeedCursor = z.infer<typeof schemas.feed>;

export function parseHttpCursor(style: HttpPagination['style'], value: unknown): Cursor {
  if (value === null || value === undefined) return null;
  const r = schemas[style].safeParse(value);
  if (!r.success) throw new InvalidCursorError(value, `${EXPECTED[style]} (http source, pagination style ${style})`);
  return r.data as Cursor;
}

/**
 * A cursor from outside (`--from`) that states its range backwards: a slice's `to` at or before its `from`, a pass's
 * `until` before its `since`. Read as it is, a hand-written one made a backfill of nothing that completed (an
 * acceptance run). Not asked of stored cursors: a pass's `until` is its run's `now − lag`, which can fall before its
 * `since` (a `lag` raised since, clocks apart), and such a pass simply reads nothing.
 */
export function checkHttpRange(style: HttpPagination['style'], value: unknown): void {
  const c = parseHttpCursor(style, value) as Record<string, unknown> | null;
  const inverted = c && invertedRange(c);
  if (inverted) throw new InvalidCursorError(value, `${inverted} (http source, pagination style ${style})`);
}

function invertedRange(c: Record<string, unknown>): string | undefined {
  const [lo, hi, loName, hiName, strict] = 'to' in c ? [c.from, c.to, 'from', 'to', true] : [c.since, c.until, 'since', 'until', false];
  if (typeof lo !== 'string' || typeof hi !== 'string') return undefined;
  const order = compareTimes(hi, lo);
  if (order > 0 || (order === 0 && !strict)) return undefined;
  return `"${hiName}" ${strict ? 'after' : 'at or after'} "${loName}" (${JSON.stringify(hi)} is ${order === 0 ? 'the same time as' : 'before'} ${JSON.stringify(lo)})`;
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
    case 'offset':
      return compareOffsets(x as OffsetCursor, y as OffsetCursor) < 0 ? y : x;
    case 'time_window':
    case 'time_slices':
      // Slices by their start; inside one, the inner position is opaque: the first (the checkpoint) wins.
      return compareTimes((x as TimeWindowCursor).from, (y as TimeWindowCursor).from) < 0 ? y : x;
    case 'feed':
      return comparePassPosition(x as FeedCursor, y as FeedCursor, () => 0) < 0 ? y : x;
    case 'link_header':
    case 'next_url':
      // Links are opaque: only passes (since) are ordered; inside one, the first (the checkpoint) wins.
      return comparePassPosition(x as LinkCursor, y as LinkCursor, () => 0) < 0 ? y : x;
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

/** Passes, then the search inside one (its anchor: absent first, then by id), then the offset in it. */
function compareOffsets(a: OffsetCursor, b: OffsetCursor): number {
  const pass = comparePassPosition(a, b, () => 0);
  if (pass !== 0) return pass;
  const [x, y] = [a, b].map((c) => ('anchor' in c ? (c.anchor as string | number | undefined) : undefined));
  if (x !== y) {
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = compareIds(x, y);
    if (c !== 0) return c;
  }
  return ('offset' in a ? a.offset : -1) - ('offset' in b ? b.offset : -1);
}

function comparePage(a: PageCursor, b: PageCursor): number {
  return comparePassPosition(a, b, (c) => ('page' in c ? c.page : -1));
}

/** Passes by their `since`, then the position inside a pass (-1 between passes). */
function comparePassPosition<C extends object>(a: C, b: C, position: (c: C) => number): number {
  const sa = 'since' in a ? (a.since as string | null) : null;
  const sb = 'since' in b ? (b.since as string | null) : null;
  if (sa !== sb) {
    if (sa === null) return -1;
    if (sb === null) return 1;
    const c = compareTimes(sa, sb);
    if (c !== 0) return c;
  }
  return position(a) - position(b);
}
