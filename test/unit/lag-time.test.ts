import { describe, expect, it } from 'vitest';
import { cursorZoneOf, lagTime } from '../../src/cursor/lag-time';

describe('lag: how far a cursor`s time is behind', () => {
  it('reads a time without an offset in the writers` zone (source.timeZone), not the process`s', () => {
    const utc = Date.parse('2026-07-01T10:00:00Z');
    // Berlin in summer is UTC+2: its wall time 12:00 is 10:00 UTC.
    expect(lagTime(['2026-07-01 12:00:00', 7], null, 'Europe/Berlin')).toBe(utc);
    // New York in winter is UTC-5; a naive time with fractions.
    expect(lagTime({ updated_at: '2026-01-15 05:00:00.25' }, null, 'America/New_York')).toBe(Date.parse('2026-01-15T10:00:00.25Z'));
    // Without a zone: UTC, whatever zone this process runs in (set here: CI runs in UTC, where the old reading agreed).
    const tz = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      expect(new Date(Date.UTC(2026, 6, 1)).getTimezoneOffset()).toBe(420);
      expect(lagTime(['2026-07-01 10:00:00'], null)).toBe(utc);
      expect(lagTime(['2026-07-01 12:00:00'], null, 'Europe/Berlin')).toBe(utc);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    // A time with an offset is absolute: the zone does not apply.
    expect(lagTime(['2026-07-01 12:00:00+02'], null, 'America/New_York')).toBe(utc);
    expect(lagTime({ from: '2026-07-01T10:00:00.000Z' }, null, 'Asia/Tokyo')).toBe(utc);
    // The run's bound (caught up) is read in the same zone; the later of both counts.
    expect(lagTime(['2026-07-01 11:00:00'], '2026-07-01 12:30:00', 'Europe/Berlin')).toBe(Date.parse('2026-07-01T10:30:00Z'));
    // Across a change of offset (Berlin, 2026-03-29 03:00 CEST = 01:00 UTC).
    expect(lagTime(['2026-03-29 04:00:00'], null, 'Europe/Berlin')).toBe(Date.parse('2026-03-29T02:00:00Z'));
    expect(lagTime(['2026-03-29 01:00:00'], null, 'Europe/Berlin')).toBe(Date.parse('2026-03-29T00:00:00Z'));
    // Clocks going back (New York, 2026-11-01: 01:00-01:59 twice, EDT then EST): the later instant that is not in the
    // future, so a caught-up sync in the second hour does not read an hour behind (the review).
    const second = Date.parse('2026-11-01T06:30:00Z'); // 01:30 EST
    expect(lagTime(['2026-11-01 01:30:00'], null, 'America/New_York', second + 1_000)).toBe(second);
    expect(lagTime(['2026-11-01 01:30:00'], null, 'America/New_York', second - 30 * 60_000)).toBe(Date.parse('2026-11-01T05:30:00Z')); // still the first hour
    // Berlin, 2026-10-25: 02:00-02:59 twice (CEST, then CET).
    expect(lagTime(['2026-10-25 02:30:00'], null, 'Europe/Berlin', Date.parse('2026-10-25T00:40:00Z'))).toBe(Date.parse('2026-10-25T00:30:00Z'));
    expect(lagTime(['2026-10-25 02:30:00'], null, 'Europe/Berlin', Date.parse('2026-10-25T01:40:00Z'))).toBe(Date.parse('2026-10-25T01:30:00Z'));
    // Offsets as PostgreSQL and ISO write them; years before 100 (Date.UTC would read 50 as 1950).
    expect(lagTime(['2026-07-01 15:30:00+05:30'], null)).toBe(utc);
    expect(lagTime(['2026-07-01T15:30:00+0530'], null)).toBe(utc);
    expect(lagTime(['2026-07-01 02:00:00-08'], null)).toBe(utc);
    const year50 = new Date(0);
    year50.setUTCFullYear(50, 2, 1);
    expect(lagTime(['0050-03-01 00:00:00'], null, 'UTC')).toBe(year50.getTime());
    expect(new Date(lagTime(['0050-03-01 00:00:00'], null, 'Europe/Berlin')!).getUTCFullYear()).toBe(50);
    // Not times.
    expect(lagTime([42, 7], null, 'Europe/Berlin')).toBeUndefined();
    expect(lagTime(['soon'], null)).toBeUndefined();
  });

  it('the zone of a source: a postgres source`s timeZone only', () => {
    expect(cursorZoneOf({ kind: 'postgres', timeZone: 'Europe/Berlin' })).toBe('Europe/Berlin');
    expect(cursorZoneOf({ kind: 'postgres' })).toBeUndefined();
    expect(cursorZoneOf({ kind: 'http', timeZone: 'Europe/Berlin' })).toBeUndefined();
    expect(cursorZoneOf(undefined)).toBeUndefined();
    // A template's zone per instance (the review: the overview read "${instance.tz}" as a zone, so UTC).
    expect(cursorZoneOf({ kind: 'postgres', timeZone: '${instance.tz}' }, { tz: 'Asia/Tokyo' })).toBe('Asia/Tokyo');
    expect(cursorZoneOf({ kind: 'postgres', timeZone: 'Europe/Berlin' }, { tz: 'Asia/Tokyo' })).toBe('Europe/Berlin');
  });
});
