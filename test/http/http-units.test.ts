import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config';
import { exampleConfig } from '../../src/mock-api';
import { InvalidCursorError } from '../../src/cursor/cursor';
import { backoffMs, parseRetryAfter } from '../../src/sources/http/backoff';
import { checkHttpRange, laterHttpCursor, parseHttpCursor } from '../../src/sources/http/cursors';
import { CapWatch, PageCap } from '../../src/sources/http/page-cap';
import { makeRedactor, safeUrl, urlSecrets } from '../../src/sources/http/redact';
import { compareTimes, timeKey } from '../../src/sources/http/time-key';

describe('http source building blocks', () => {
  it('orders timestamps exactly, microseconds and offsets included', () => {
    expect(compareTimes('2024-05-01T10:00:00.123456Z', '2024-05-01T10:00:00.123457Z')).toBe(-1);
    expect(compareTimes('2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00Z')).toBe(0);
    expect(compareTimes('2024-05-01T10:00:00.1Z', '2024-05-01T10:00:00.100000Z')).toBe(0);
    expect(timeKey('yesterday')).toBeUndefined();
  });

  it('later() follows each style\'s order; opaque tokens keep the first (the durable checkpoint)', () => {
    expect(laterHttpCursor('time_window', { from: '2024-01-01T00:00:01Z' }, { from: '2024-01-01T00:00:00.999999Z' })).toEqual({ from: '2024-01-01T00:00:01Z' });
    expect(laterHttpCursor('time_window', null, { from: '2024-01-01T00:00:00Z' })).toEqual({ from: '2024-01-01T00:00:00Z' });
    expect(laterHttpCursor('starting_after', { startingAfter: 9 }, { startingAfter: '10' })).toEqual({ startingAfter: '10' });
    expect(laterHttpCursor('starting_after', { startingAfter: '99999999999999999999' }, { startingAfter: 5 })).toEqual({ startingAfter: '99999999999999999999' });
    const mid = { since: '2024-01-01T00:00:00Z', page: 3, perPage: 100, until: '2024-02-01T00:00:00Z' };
    expect(laterHttpCursor('page', mid, { since: '2024-01-01T00:00:00Z', page: 2, perPage: 100, until: '2024-02-01T00:00:00Z' })).toEqual(mid);
    expect(laterHttpCursor('page', mid, { since: '2024-02-01T00:00:00Z' })).toEqual({ since: '2024-02-01T00:00:00Z' });
    expect(laterHttpCursor('page', { since: null, page: 1, perPage: 50, until: '2024-02-01T00:00:00Z' }, { since: null })).toEqual({ since: null, page: 1, perPage: 50, until: '2024-02-01T00:00:00Z' });
    expect(laterHttpCursor('cursor', { token: 'checkpoint' }, { token: 'heartbeat' })).toEqual({ token: 'checkpoint' });
  });

  it('parseCursor rejects malformed cursors with InvalidCursorError naming the expected shape', () => {
    expect(parseHttpCursor('cursor', null)).toBeNull();
    expect(() => parseHttpCursor('time_window', { from: 'soon' })).toThrow(InvalidCursorError);
    expect(() => parseHttpCursor('time_window', ['2024-01-01T00:00:00Z'])).toThrow(/expected null or \{"from": "<ISO time>"\}/);
    expect(() => parseHttpCursor('page', { since: null, page: -1, perPage: 10, until: '2024-01-01T00:00:00Z' })).toThrow(InvalidCursorError);
    expect(() => parseHttpCursor('page', { since: null, page: 2, until: '2024-01-01T00:00:00Z' })).toThrow(InvalidCursorError); // no page size
    expect(() => parseHttpCursor('cursor', { token: '' })).toThrow(InvalidCursorError);
    expect(() => parseHttpCursor('starting_after', { startingAfter: 1, extra: 2 })).toThrow(InvalidCursorError);
    // A range stated backwards in a cursor from outside (a hand-written --from): it made a backfill of nothing that
    // completed (an acceptance run). A stored one may hold it (a pass whose until, now − lag, fell before its since).
    const slice = { from: '2024-01-01T00:00:00Z', to: '2023-01-01T00:00:00Z', inner: { startingAfter: 'ch_x' } };
    expect(() => checkHttpRange('time_slices', slice)).toThrow(/expected "to" after "from" \("2023-01-01T00:00:00Z" is before "2024-01-01T00:00:00Z"\) \(http source, pagination style time_slices\)/);
    expect(() => checkHttpRange('time_slices', { ...slice, to: slice.from })).toThrow(/"to" after "from" \(.* is the same time as/);
    const pass = { since: '2024-02-01T00:00:00Z', offset: 0, until: '2024-01-01T00:00:00Z' };
    expect(() => checkHttpRange('offset', pass)).toThrow(/"until" at or after "since"/);
    expect(parseHttpCursor('offset', pass)).toEqual(pass);
    expect(() => checkHttpRange('time_slices', { ...slice, to: '2024-01-02T00:00:00Z' })).not.toThrow();
    expect(() => checkHttpRange('page', { since: '2024-01-01T00:00:00Z', page: 1, perPage: 10, until: '2024-01-01T00:00:00Z' })).not.toThrow();
    expect(() => checkHttpRange('cursor', null)).not.toThrow();
  });

  it('Retry-After: seconds or an HTTP date; backoff grows exponentially with jitter, capped', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect([backoffMs(0, 100, 1000, () => 0), backoffMs(0, 100, 1000, () => 1)]).toEqual([50, 100]);
    expect(backoffMs(3, 100, 1000, () => 1)).toBe(800);
    expect(backoffMs(10, 100, 1000, () => 0.5)).toBe(750);
  });

  it('URLs in messages have no secrets: env values, user info, secret-looking parameters', () => {
    const redact = makeRedactor(['s3cr3t-key', 'abc']);
    const url = new URL('https://user:pw@api.example.com/v1/orders?api_key=s3cr3t-key&q=s3cr3t-key&from=2024-01-01T00:00:00Z');
    const shown = safeUrl(url, redact);
    expect(shown).not.toMatch(/s3cr3t|pw@|user:/);
    expect(shown).toContain('from=2024-01-01T00:00:00Z');
    expect(redact('abc stays: too short to be a secret')).toContain('abc');
  });

  it('secrets of a configured URL: references after the origin; sig and pwd parameters by name', () => {
    const env: Record<string, string> = { HOST: 'api.example.com', HOOK: 'HOOKPATHSECRET30', API_URL: 'https://api.example.com', WHOLE: 'https://h.example/x?sig=ENVURLSIG5&page=2' };
    const resolve = (text: string) => text.replace(/\$\{(\w+)\}/g, (_, n: string) => env[n] ?? '');
    const of = (u: string) => urlSecrets(u, resolve);
    expect(of('https://${HOST}/hooks/${HOOK}/items')).toEqual(['HOOKPATHSECRET30']);
    expect(of('${API_URL}/hooks/${HOOK}')).toEqual(['HOOKPATHSECRET30']);
    expect(of('${WHOLE}')).toEqual([]); // its origin and path stay readable; its sig is masked by name, below
    expect(safeUrl(new URL('https://h.example/x?sig=abcdef&pwd=ghijkl&signature=mnopqr&page=2'), (t) => t)).toBe('https://h.example/x?sig=***&pwd=***&signature=***&page=2');
  });

  it('a URL with user:password is refused when the config loads, without echoing it', () => {
    const source = (url: string) => ({ integrations: [{ id: 'u', source: { kind: 'http', url, columns: { id: 'bigint' } }, sink: { table: 'a.b', key: ['id'] } }] });
    expect(() => parseConfig(source('http://bob:hunter22@127.0.0.1:1/items'))).toThrow(/source\.url: holds a user name or password \("https:\/\/user:…@host"\): put them in auth: \{ type: basic, username, password \} instead/);
    expect(() => parseConfig(source('http://bob:hunter22@127.0.0.1:1/items'))).not.toThrow(/hunter22/);
  });

  it('the example config `tidemark mock-api` prints is valid, one integration per style', () => {
    const cfg = parseConfig(parseYaml(exampleConfig('http://127.0.0.1:4010', true)));
    expect(cfg.integrations.map((i) => (i.source as { pagination: { style: string } }).pagination.style)).toEqual(['time_window', 'cursor', 'page', 'starting_after']);
  });

  it('a page cap is learned only when a short answer is followed by more, and re-checked now and then', () => {
    const cap = new PageCap();
    const watch = new CapWatch(cap);
    watch.answer(1000, 250, undefined); // short: the end, or a cap?
    expect(cap.cap).toBeUndefined();
    watch.answer(1000, 250, undefined); // more came: it was a cap
    expect(cap.cap).toBe(250);
    expect(cap.limit(1000)).toBe(250);
    expect(cap.limit(100)).toBe(100);
    const asked = Array.from({ length: 100 }, () => cap.limit(1000));
    expect(asked.filter((n) => n === 1000).length).toBe(2); // every 50th request asks the configured size again
    cap.seen(400); // the API gave more than the cap: it was wrong (or raised)
    expect(cap.cap).toBeUndefined();

    const end = new PageCap();
    const w2 = new CapWatch(end);
    w2.answer(1000, 37, undefined);
    w2.answer(1000, 0, undefined); // an empty page: 37 was the end of the list, not a cap
    expect(end.cap).toBeUndefined();
    w2.answer(1000, 100, true); // short, and the API says there is more: a cap at once
    expect(end.cap).toBe(100);
    expect(end.capacity).toBe(100);
  });
});
