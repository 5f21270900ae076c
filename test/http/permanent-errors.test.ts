import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type Config } from '../../src/config';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { apiConfig, expectExactCopy, runner, TOKEN } from './helpers';

const API_KEY = 'k3y-Vq93-secret';
let dst: TestDatabase;
let api: MockApi;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api.url, API_TOKEN: TOKEN, API_KEY, DST_URL: dst.url }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_permanent');
});
afterEach(async () => {
  await api?.close();
  await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});
afterAll(async () => {
  await dst?.drop();
});

describe('http source: errors retrying cannot fix fail the run at once', () => {
  it('401 mid-run: non-retryable, named, no retry; the checkpoint stays at the last committed page; resume finishes exactly', async () => {
    api = await startMockApi({ records: 1500, seed: 31, token: TOKEN });
    config = apiConfig('time_window');
    const err = await r
      .run({ runKey: 'auth/1' }, new MockActivityEnvironment(), {
        afterBatch: async ({ pages }) => {
          if (pages === 3) api.setToken('rotated-token'); // the credentials stop working mid-backfill
        },
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, type: 'HttpStatusError', message: expect.stringMatching(/→ 401 Unauthorized: check the credentials in source\.headers/) });
    expect((err as Error).message).not.toContain(TOKEN);
    expect(api.stats().status[401]).toBe(1); // not retried

    const [cp] = await sql<{ cursor: { from: string }; rows_done: string }>(dst.url, `SELECT cursor, rows_done::text FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    const [run] = await sql<{ status: string; end_cursor: unknown; rows_committed: string }>(dst.url, `SELECT status, end_cursor, rows_committed::text FROM tidemark.runs WHERE run_id = 'auth/1'`);
    const [target] = await sql<{ n: string; before: string }>(dst.url, `SELECT count(*)::text AS n, count(*) FILTER (WHERE updated_at < $1::timestamptz)::text AS before FROM api.orders`, [cp!.cursor.from]);
    expect(run!.status).toBe('failed');
    expect(cp!.cursor).toEqual(run!.end_cursor);
    expect(cp!.rows_done).toBe(run!.rows_committed);
    expect(target!.n).toBe(cp!.rows_done);
    // The checkpoint covers exactly what was written: every record before its time, none after.
    const expected = api.snapshot().filter((o) => Date.parse(o.updated_at) < Date.parse(cp!.cursor.from)).length;
    expect(Number(target!.before)).toBe(expected);
    expect(Number(target!.n)).toBe(expected);
    expect(expected).toBeGreaterThanOrEqual(300);

    api.setToken(TOKEN);
    const resumed = await r.run({ runKey: 'auth/2', mode: 'resume' });
    expect(resumed.done).toBe(true);
    expect(await expectExactCopy(dst.url, api)).toBe(1500);
  });

  it('404: fails at once, non-retryable, naming the URL', async () => {
    api = await startMockApi({ records: 10, token: TOKEN });
    config = apiConfig('cursor', { url: '${API_URL}/v1/orderz' });
    const err = await r.run({ runKey: 'nf/1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, type: 'HttpStatusError', message: expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/v1\/orderz\?limit=100 → 404 Not Found: check source\.url/) });
    expect(api.stats().requests).toBe(1);
  });

  it('400 (a parameter the API rejects) and a wrong records path fail at once with the API\'s or the config\'s words', async () => {
    api = await startMockApi({ records: 10, token: TOKEN });
    config = apiConfig('page', { pagination: { style: 'page', firstPage: 0 } });
    await expect(r.run({ runKey: 'bad/1' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'HttpStatusError',
      message: expect.stringMatching(/→ 400 Bad Request: check source\.params and source\.pagination.*page must be a whole number from 1/),
    });
    config = apiConfig('cursor', { records: 'items' });
    await expect(r.run({ runKey: 'bad/2' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'HttpSourceError',
      message: expect.stringMatching(/^source\.records: the response has no array at "items" \(top-level keys: data, next_cursor, has_more\)/),
    });
  });

  it('a web page where JSON was expected (a wrong URL) fails at once', async () => {
    api = await startMockApi({ records: 10, token: TOKEN });
    const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html>Sign in</html>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    try {
      config = apiConfig('cursor', { url: `http://127.0.0.1:${(page.address() as AddressInfo).port}/login` });
      await expect(r.run({ runKey: 'html/1' })).rejects.toMatchObject({ nonRetryable: true, type: 'HttpSourceError', message: expect.stringMatching(/^source\.url: the response is text\/html, not JSON/) });
    } finally {
      page.closeAllConnections();
      await new Promise((resolve) => page.close(resolve));
    }
  });

  it('the token and key never reach the checkpoint, the cursor, heartbeats, the run history or error messages', async () => {
    api = await startMockApi({ records: 600, seed: 32, token: TOKEN });
    const beats: unknown[] = [];
    for (const style of ['cursor', 'page', 'time_window', 'starting_after'] as const) {
      config = apiConfig(style, { url: `\${API_URL}${{ cursor: '/v1/orders/cursor', page: '/v1/orders/pages', time_window: '/v1/orders/window', starting_after: '/v1/orders' }[style]}?api_key=\${API_KEY}` });
      const env = new MockActivityEnvironment();
      env.on('heartbeat', (d: unknown) => beats.push(d));
      const res = await r.run({ runKey: `secret/${style}` }, env);
      expect(res.rows).toBe(600);
      beats.push(res);
    }
    api.setToken('other');
    const err = (await r.run({ runKey: 'secret/401' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/api_key=\*\*\*/);
    const state = await sql(dst.url, `SELECT (SELECT json_agg(c)::text FROM tidemark.checkpoints c) AS c, (SELECT json_agg(r)::text FROM tidemark.runs r) AS r`);
    const everything = JSON.stringify([beats, state, err.message, err.stack]);
    expect(beats.length).toBeGreaterThan(20);
    expect(everything).toContain('secret/401'); // the runs are in there…
    expect(everything).not.toContain(TOKEN); // …the secrets are not
    expect(everything).not.toContain(API_KEY);
  });

  it('config errors name the field and say what is wrong', () => {
    const bad = (source: Record<string, unknown>) => {
      try {
        parseConfig({ integrations: [{ id: 'x', source: { kind: 'http', url: 'https://api.example.com/v1/x', pagination: { style: 'cursor' }, columns: { id: 'bigint' }, ...source }, sink: { table: 't', key: ['id'] } }] });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad({ pagination: { style: 'scroll' } })).toContain('integrations[0].source.pagination.style: must be one of cursor | starting_after | page | offset | time_window | link_header | next_url');
    expect(bad({ pagination: undefined })).toContain('integrations[0].source.pagination: is required: { style: cursor | starting_after | page | offset | time_window | link_header | next_url');
    expect(bad({ url: 'ftp://x' })).toContain('integrations[0].source.url: must be an http:// or https:// URL');
    expect(bad({ columns: {} })).toContain('integrations[0].source.columns: must declare at least one column');
    expect(bad({ columns: { '2bad': 'text' } })).toContain('integrations[0].source.columns.2bad: column name must be a plain SQL identifier');
    expect(bad({ columns: { id: 'text; DROP TABLE x' } })).toContain('integrations[0].source.columns.id: must be a PostgreSQL type name');
    expect(bad({ timeout: 'soon' })).toContain('integrations[0].source.timeout: "soon" is not a duration');
    expect(bad({ retries: -1 })).toContain('integrations[0].source.retries: must be 0 or more');
    expect(bad({ requestsPerSecond: 0 })).toContain('integrations[0].source.requestsPerSecond: must be more than 0');
    expect(bad({ lag: '2s' })).toContain('integrations[0].source.lag: applies only to bounded pagination styles: page, offset, time_window, time_slices, and link_header/next_url with a since filter');
    expect(bad({ pagination: { style: 'link_header', rel: 'next page' } })).toContain('integrations[0].source.pagination.rel: must be a link relation');
    expect(bad({ responses: { rateLimited: [{ status: 403, equals: '0' }] } })).toContain('integrations[0].source.responses.rateLimited[0].equals: needs header');
    expect(bad({ responses: { retry: [503], skip: [503] } })).toContain('integrations[0].source.responses.skip: 503 is also in retry');
    expect(bad({ responses: { wait: [{ header: 'x-reset', format: 'epoch' }] } })).toContain('integrations[0].source.responses.wait[0].format: must be retry-after | epoch_seconds | epoch_ms | seconds');
    expect(bad({ headers: { 'Bad Header': 'x' } })).toContain('integrations[0].source.headers.Bad Header: is not a valid HTTP header name');
    expect(bad({ pagination: { style: 'time_window', start: 'yesterday' } })).toContain('integrations[0].source.pagination.start: must be an ISO-8601 timestamp');
    expect(bad({ pagination: { style: 'time_window', maxWindow: '1d' } })).toContain('integrations[0].source.pagination.start: is required with maxWindow');
    expect(bad({ pagination: { style: 'cursor', nxt: 'x' } })).toContain('integrations[0].source.pagination: Unrecognized key: "nxt"');
    expect(bad({ backoff: { initial: '10s', max: '1s' } })).toContain('integrations[0].source.backoff.max: max must be at least initial');
    expect(bad({ headers: { Authorization: 'Bearer abc123' } })).toContain(`integrations[0].source.headers.Authorization: carries a credential, so its value must come from the worker's environment: write "Bearer \${API_TOKEN}"`);
    expect(bad({ params: { api_key: 'abc123' } })).toContain('integrations[0].source.params.api_key: carries a credential');
    expect(bad({ url: 'https://api.example.com/v1/x?token=abc123' })).toContain('integrations[0].source.url: query parameter "token" carries a credential');
  });
});
