import { replaceTemplateRefs } from '../config/env-refs';

/**
 * How far a target is behind its source, as a time: the cursor's time (its first value, when it is one), or the
 * bound its last run read to (a sync that ended done has everything before it), whichever is later. The cursor
 * alone grew while a quiet source sent nothing: an integration synced seconds ago read "lagging" (an acceptance run).
 * Undefined when neither is a time (an id cursor, a CSV offset). `zone`: the IANA zone of a time written without
 * an offset (a `timestamp without time zone` cursor holds its writers' wall time: source.timeZone); without one,
 * such a time is read as UTC, not in the zone this process happens to run in.
 */
export function lagTime(cursor: unknown, caughtUp?: string | null, zone?: string, now = Date.now()): number | undefined {
  const first = Array.isArray(cursor) ? cursor[0] : cursor && typeof cursor === 'object' ? Object.values(cursor)[0] : cursor;
  const times = [timeOf(first, zone, now), timeOf(caughtUp, zone, now)].filter((t): t is number => t !== undefined);
  return times.length ? Math.max(...times) : undefined;
}

/**
 * The zone a source's naive cursor times are written in (a postgres source's timeZone), from its config; a
 * template's (`timeZone: ${instance.tz}`) with the instance's parameters filled in.
 */
export function cursorZoneOf(source: unknown, params?: Readonly<Record<string, string>>): string | undefined {
  const s = source as { kind?: unknown; timeZone?: unknown } | null | undefined;
  if (s?.kind !== 'postgres' || typeof s.timeZone !== 'string') return undefined;
  return params ? replaceTemplateRefs(s.timeZone, (kind, name) => (kind === 'instance' ? (params[name] ?? '') : '')) : s.timeZone;
}

/** A timestamp as PostgreSQL or ISO 8601 writes it, in ms; undefined for anything else. */
function timeOf(v: unknown, zone: string | undefined, now: number): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(v.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, off] = m;
  // setUTCFullYear: Date.UTC reads years 0-99 as 1900-1999.
  const at = new Date(0);
  at.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  at.setUTCHours(Number(h), Number(mi), Number(sec ?? 0), frac ? Math.floor(Number(frac) * 1000) : 0);
  const wall = at.getTime();
  if (Number.isNaN(wall)) return undefined;
  if (off) return wall - offsetOfText(off);
  return zone ? instantOf(wall, zone, now) : wall;
}

/** "+05:30", "+0530", "-08", "Z" in ms east of UTC. */
function offsetOfText(off: string): number {
  if (/^z$/i.test(off)) return 0;
  const sign = off[0] === '-' ? -1 : 1;
  const digits = off.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0)) * 60_000;
}

/**
 * The instant a wall time in `zone` means. Once a year a wall time means two (clocks going back: the hour
 * repeats) — the later one that is not in the future, so a caught-up sync does not read an hour behind — and once
 * none (clocks going forward: it is read with the offset before the change).
 */
function instantOf(wall: number, zone: string, now: number): number {
  try {
    const DAY = 86_400_000;
    const offsets = [...new Set([offsetAt(zone, wall - DAY), offsetAt(zone, wall + DAY), offsetAt(zone, wall)])];
    const valid = offsets.map((o) => wall - o).filter((t) => offsetAt(zone, t) === wall - t).sort((a, b) => b - a);
    return valid.find((t) => t <= now) ?? valid[valid.length - 1] ?? wall - offsetAt(zone, wall - DAY);
  } catch {
    return wall; // not a zone Intl knows (the config checks it): as UTC
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();
/** The zone's offset at `instant`, in ms east of UTC. */
function offsetAt(zone: string, instant: number): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', era: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  const asUtc = new Date(0);
  asUtc.setUTCFullYear(p.era === 'BC' ? 1 - Number(p.year) : Number(p.year), Number(p.month) - 1, Number(p.day));
  asUtc.setUTCHours(Number(p.hour), Number(p.minute), Number(p.second), 0);
  return asUtc.getTime() - (instant - (((instant % 1000) + 1000) % 1000));
}
