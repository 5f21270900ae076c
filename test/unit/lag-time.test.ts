import { describe, expect, it } from 'vitest';
import { cursorZoneOf, lagTime } from '../../src/cursor/lag-time';

describe('lag: how far a cursor`s time is behind', () => {
  it('reads a time without an offset in the writers` zone (source.timeZone), not the process`s', () => {
    const utc = Date.parse('2026-07-01T10:00:00Z');
    // Berlin in summer is UTC+2: its wall time 12:00 is 10:00 UTC.
    expect(lagTime(['2026-07-01 12:00:00', 7], null, 'Europe/Berlin')).toBe(utc);
    // New York in winter is UTC-5; a naive time with fractions.
    expect(lagTime({ updated_at: '2026-01-15 05:00:00.25' }, null, 'America/New_York')).toBe(Date.parse('2026-01-15T10:00:00.25Z'));
    // Without a zone: UTC, whatever zone this process runs in.
    expect(lagTime(['2026-07-01 10:00:00'], null)).toBe(utc);
    // A time with an offset is absolute: the zone does not apply.
    expect(lagTime(['2026-07-01 12:00:00+02'], null, 'America/New_York')).toBe(utc);
    expect(lagTime({ from: '2026-07-01T10:00:00.000Z' }, null, 'Asia/Tokyo')).toBe(utc);
    // The run's bound (caught up) is read in the same zone; the later of both counts.
    expect(lagTime(['2026-07-01 11:00:00'], '2026-07-01 12:30:00', 'Europe/Berlin')).toBe(Date.parse('2026-07-01T10:30:00Z'));
    // Across a change of offset (Berlin, 2026-03-29 03:00 CEST = 01:00 UTC).
    expect(lagTime(['2026-03-29 04:00:00'], null, 'Europe/Berlin')).toBe(Date.parse('2026-03-29T02:00:00Z'));
    expect(lagTime(['2026-03-29 01:00:00'], null, 'Europe/Berlin')).toBe(Date.parse('2026-03-29T00:00:00Z'));
    // Not times.
    expect(lagTime([42, 7], null, 'Europe/Berlin')).toBeUndefined();
  });

  it('the zone of a source: a postgres source`s timeZone only', () => {
    expect(cursorZoneOf({ kind: 'postgres', timeZone: 'Europe/Berlin' })).toBe('Europe/Berlin');
    expect(cursorZoneOf({ kind: 'postgres' })).toBeUndefined();
    expect(cursorZoneOf({ kind: 'http', timeZone: 'Europe/Berlin' })).toBeUndefined();
    expect(cursorZoneOf(undefined)).toBeUndefined();
  });
});
