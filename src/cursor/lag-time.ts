/**
 * How far a target is behind its source, as a time: the cursor's time (its first value, when it is one), or the
 * bound its last run read to (a sync that ended done has everything before it), whichever is later. The cursor
 * alone grew while a quiet source sent nothing: an integration synced seconds ago read "lagging" (an acceptance run).
 * Undefined when neither is a time (an id cursor, a CSV offset).
 */
export function lagTime(cursor: unknown, caughtUp?: string | null): number | undefined {
  const first = Array.isArray(cursor) ? cursor[0] : cursor && typeof cursor === 'object' ? Object.values(cursor)[0] : cursor;
  const times = [timeOf(first), timeOf(caughtUp)].filter((t): t is number => t !== undefined);
  return times.length ? Math.max(...times) : undefined;
}

/** A timestamp as PostgreSQL or ISO 8601 writes it, in ms; undefined for anything else. */
function timeOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(v)) return undefined;
  const t = Date.parse(v.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
  return Number.isNaN(t) ? undefined : t;
}
