import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { ConfigError } from '../../src/config/errors';
import { formatTime, parseTime, stepAfter, truncateTime } from '../../src/sources/http/time-format';

describe('time formats, sent and read, exact', () => {
  it('epoch seconds and milliseconds parse exactly, from numbers and strings, fractions included', () => {
    expect(parseTime(1700000000, 'epoch_seconds')).toBe('2023-11-14T22:13:20.000Z');
    expect(parseTime('1700000000', 'epoch_seconds')).toBe('2023-11-14T22:13:20.000Z');
    expect(parseTime(1700000000.123, 'epoch_seconds')).toBe('2023-11-14T22:13:20.123Z');
    expect(parseTime('1700000000.123456', 'epoch_seconds')).toBe('2023-11-14T22:13:20.123456Z');
    expect(parseTime(1700000000123, 'epoch_ms')).toBe('2023-11-14T22:13:20.123Z');
    expect(parseTime('1700000000123.456', 'epoch_ms')).toBe('2023-11-14T22:13:20.123456Z');
    // 0.1 + 0.2 style float noise never reaches a time: 1.7e9 + 0.3 s as a double is …0.29999995
    expect(parseTime(1700000000.3, 'epoch_seconds')).toBe('2023-11-14T22:13:20.300Z');
    expect(parseTime('17e8', 'epoch_seconds')).toBeUndefined();
    expect(parseTime('soon', 'epoch_ms')).toBeUndefined();
    expect(parseTime(true, 'epoch_ms')).toBeUndefined();
  });

  it('ISO keeps every digit; date-only is midnight UTC and rejects impossible dates', () => {
    expect(parseTime('2024-05-01T10:00:00.123456789+02:00', 'iso')).toBe('2024-05-01T10:00:00.123456789+02:00');
    expect(parseTime('2024-05-01', 'iso')).toBeUndefined();
    expect(parseTime('2024-05-01', 'date')).toBe('2024-05-01T00:00:00.000Z');
    expect(parseTime('2024-02-30', 'date')).toBeUndefined();
  });

  it('strftime-like patterns, both ways', () => {
    const p = { pattern: '%Y-%m-%d %H:%M:%S' };
    expect(parseTime('2024-05-01 10:20:30', p)).toBe('2024-05-01T10:20:30.000Z');
    expect(parseTime('2024-05-01T10:20:30', p)).toBeUndefined();
    expect(parseTime('2024-02-31 10:20:30', p)).toBeUndefined();
    expect(parseTime('01/05/2024 10:20:30.123456 +0200', { pattern: '%d/%m/%Y %H:%M:%S.%f %z' })).toBe('2024-05-01T08:20:30.123456Z');
    expect(formatTime('2024-05-01T10:20:30.123456Z', { pattern: '%Y%m%dT%H%M%S.%fZ' })).toBe('20240501T102030.123456Z');
    expect(formatTime('2024-05-01T12:20:30+02:00', { pattern: '%Y-%m-%d %H:%M:%S%z' })).toBe('2024-05-01 10:20:30+0000');
  });

  it('sent values: epoch seconds and ms floor, date is the UTC day, iso is exact', () => {
    expect(formatTime('2023-11-14T22:13:20.999Z', 'epoch_seconds')).toBe('1700000000');
    expect(formatTime('2023-11-14T22:13:20.123999Z', 'epoch_ms')).toBe('1700000000123');
    expect(formatTime('1969-12-31T23:59:59.500Z', 'epoch_seconds')).toBe('-1');
    expect(formatTime('2024-05-01T23:59:59+00:00', 'date')).toBe('2024-05-01');
    expect(formatTime('2024-05-01T10:00:00.000001Z', 'iso')).toBe('2024-05-01T10:00:00.000001Z');
    expect(truncateTime('2024-05-01T10:00:00.7Z', 'epoch_seconds')).toBe('2024-05-01T10:00:00.000Z');
    expect(truncateTime('2024-05-01T10:00:00.7Z', 'iso')).toBe('2024-05-01T10:00:00.7Z');
    // A window step shorter than the format's unit still moves on by one unit (never a window of zero).
    expect(stepAfter('2024-05-01T10:00:00.000Z', 500, 'epoch_seconds')).toBe('2024-05-01T10:00:01.000Z');
    expect(stepAfter('2024-05-01T10:00:00.000Z', 90_000, 'epoch_seconds')).toBe('2024-05-01T10:01:30.000Z');
    expect(stepAfter('2024-05-01T00:00:00.000Z', 3_600_000, 'date')).toBe('2024-05-02T00:00:00.000Z');
  });

  it('config: a bad format names the field and the directives', () => {
    const bad = (pagination: Record<string, unknown>) => {
      try {
        parseConfig({ integrations: [{ id: 'x', source: { kind: 'http', url: 'https://api.example.com/x', pagination, columns: { id: 'bigint' } }, sink: { table: 't', key: ['id'] } }] });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad({ style: 'time_window', format: 'unix' })).toContain('integrations[0].source.pagination.format: "unix" is not a time format');
    expect(bad({ style: 'page', sinceFormat: '%Y-%m-%d %q' })).toContain('integrations[0].source.pagination.sinceFormat: "%Y-%m-%d %q": unknown directive "%q"');
    expect(bad({ style: 'time_window', fieldFormat: '%H:%M' })).toContain('must contain %Y, %m and %d');
    // A column's too, in its object form: the field and the value, not "must be a type name or { type, … }" (an acceptance run).
    const column = (spec: Record<string, unknown>) => {
      try {
        parseConfig({ integrations: [{ id: 'x', source: { kind: 'http', url: 'https://api.example.com/x', pagination: { style: 'offset' }, columns: { id: 'bigint', at: spec } }, sink: { table: 't', key: ['id'] } }] });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(column({ type: 'timestamptz', format: 'epoch_second' })).toContain('integrations[0].source.columns.at.format: "epoch_second" is not a time format: use iso | epoch_seconds');
    expect(column({ type: 'text', from: 3 })).toContain('integrations[0].source.columns.at.from: ');
    expect(column({ type: 'text', formt: 'iso' })).toMatch(/integrations\[0\]\.source\.columns\.at: Unrecognized key: "formt" \(did you mean "format"/);
    expect(column(['text'] as unknown as Record<string, unknown>)).toContain('integrations[0].source.columns.at: must be a PostgreSQL type name or { type, from?, notNull?, format? }');
  });
});
