/**
 * How far a target is behind its source, as a time: the cursor's time (its first value, when it is one), or the
 * bound its last run read to (a sync that ended done has everything before it), whichever is later. The cursor
 * alone grew while a quiet source sent nothing: an integration synced seconds ago read "lagging" (an acceptance run).
 * Undefined when neither is a time (an id cursor, a CSV offset). `zone`: the IANA zone of a time written without
 * an offset (a `timestamp without time zone` cursor holds its writers' wall time: source.timeZone); without one,
 * such a time is read as UTC, not in the zone this process happens to run in.
 */
export function lagTime(cursor: unknown, caughtUp?: string | null, zone?: string): number | undefined {
  const first = Array.isArray(cursor) ? cursor[0] : cursor && typeof cursor === 'object' ? Object.values(cursor)[0] : cursor;
  const times = [timeOf(first, zone), timeOf(caughtUp, zone)].filter((t): t is number => t !== undefined);
  return times.length ? Math.max(...times) : undefined;
}

/** The zone a source's naive cursor times are written in (a postgres source's timeZone), from its config. */
export function cursorZoneOf(source: unknown): string | undefined {
  const s = source as { kind?: unknown; timeZone?: unknown } | null | undefined;
  return s?.kind === 'postgres' && typeof s.timeZone === 'string' ? s.timeZone : undefined;
}

/** A timestamp as PostgreSQL or ISO 8601 writes it, in ms; undefined for anything else. */
function timeOf(v: unknown, zone: string | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(v)) return undefined;
  const iso = v.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');
  const offset = /(Z|[+-]\d{2}:?\d{2})$/i.test(iso);
  const t = Date.parse(offset ? iso : `${iso}Z`);
  if (Number.isNaN(t)) return undefined;
  return offset || !zone ? t : t - zoneOffsetMs(zone, t);
}

/**
 * The zone's offset from UTC at about the wall time `wall` (a wall time read as if it were UTC), in ms: the offset
 * at the instant that wall time means, found in two steps (the offset at `wall`, then at `wall` minus it).
 */
function zoneOffsetMs(zone: string, wall: number): number {
  try {
    const first = offsetAt(zone, wall);
    return offsetAt(zone, wall - first);
  } catch {
    return 0; // not a zone Intl knows (the config checks it): as UTC
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();
function offsetAt(zone: string, instant: number): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return asUtc - Math.floor(instant / 1000) * 1000;
}
