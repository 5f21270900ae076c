import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { runner } from './helpers';

// A security acceptance run: fetch's own redirect following re-sent every header but Authorization to another
// origin, so an X-API-Key (api_key auth), a Private-Token header and a query api_key went wherever a 302 pointed.
const KEY = 'redirect-key-Secret-1';
const PRIVATE = 'private-token-Secret-2';
const QUERY_KEY = 'query-key-Secret-3';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

/** A server that logs what reaches it, answers `/final` with one page, and redirects as `routes` says. */
async function server(routes: Record<string, (self: string) => [number, string]> = {}): Promise<{ url: string; seen: Seen[]; srv: Server }> {
  const seen: Seen[] = [];
  const srv = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push({ path, headers: req.headers });
    if (path.startsWith('/denied')) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"who are you"}');
      return;
    }
    const route = routes[path.split('?')[0] as string];
    if (route) {
      const [status, location] = route(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
      res.writeHead(status, { location }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ id: 1, name: 'one' }, { id: 2, name: 'two' }] }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, srv };
}

let dst: TestDatabase;
let other: Awaited<ReturnType<typeof server>>;
let api: Awaited<ReturnType<typeof server>>;
let config: Config;
const r = runner(
  () => config,
  () => ({ DST_URL: dst.url, KEY, PRIVATE, QUERY_KEY }),
);

const configFor = (path: string, auth: Record<string, unknown>) =>
  parseConfig({
    integrations: [
      {
        id: 'api',
        source: { kind: 'http', url: `${api.url}${path}`, records: 'data', columns: { id: 'bigint', name: 'text' }, pagination: { style: 'next_url' }, headers: { 'Private-Token': '${PRIVATE}' }, auth },
        sink: { url: '${DST_URL}', table: 'redir.items', key: ['id'], create: true },
      },
    ],
  });

beforeAll(async () => {
  dst = await createTestDatabase('http_redirects');
  other = await server();
  api = await server({ '/same': () => [301, '/final'], '/cross': () => [302, `${other.url}/final?from=api`], '/loop': () => [307, '/loop'], '/data': () => [302, 'data:application/json,{"data":[]}'], '/other-401': () => [302, `${other.url}/denied`] });
});
afterAll(async () => {
  for (const s of [api, other]) await new Promise((res) => s?.srv.close(res));
  await dst?.drop();
});

describe('http source: redirects', () => {
  it('followed on the same origin with the credentials; to another origin without any configured header or key', async () => {
    config = configFor('/same', { type: 'api_key', in: 'header', name: 'X-API-Key', value: '${KEY}' });
    await expect(r.run({ runKey: 'same/1' })).resolves.toMatchObject({ rows: 2, done: true });
    expect(api.seen.at(-1)).toMatchObject({ path: expect.stringMatching(/^\/final/), headers: { 'x-api-key': KEY, 'private-token': PRIVATE } });

    config = configFor('/cross', { type: 'api_key', in: 'header', name: 'X-API-Key', value: '${KEY}' });
    await expect(r.run({ runKey: 'cross/1' })).resolves.toMatchObject({ rows: 2, done: true });
    config = configFor('/cross', { type: 'api_key', in: 'query', name: 'api_key', value: '${QUERY_KEY}' });
    await expect(r.run({ runKey: 'cross/2' })).resolves.toMatchObject({ rows: 2, done: true });
    expect(other.seen.map((s) => s.path)).toEqual(['/final?from=api', '/final?from=api']);
    const sent = JSON.stringify(other.seen);
    for (const secret of [KEY, PRIVATE, QUERY_KEY]) expect(sent).not.toContain(secret);
    // The API itself got the query key: the credential was applied, only not carried to the other origin.
    expect(api.seen.some((s) => s.path.includes(QUERY_KEY))).toBe(true);
    expect(await sql(dst.url, 'SELECT id::text, name FROM redir.items ORDER BY id')).toEqual([{ id: '1', name: 'one' }, { id: '2', name: 'two' }]);
  });

  it('a redirect loop fails the run, non-retryable, naming the URL without its secrets', async () => {
    config = configFor('/loop', { type: 'api_key', in: 'query', name: 'api_key', value: '${QUERY_KEY}' });
    const err = (await r.run({ runKey: 'loop/1' }).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ nonRetryable: true, message: expect.stringMatching(/url: more than 5 redirects: point source\.url at where the API answers/) });
    expect(err.message).not.toContain(QUERY_KEY);
  });

  it('a redirect to a data: URL fails; a 401 from another origin is not taken for a refused credential', async () => {
    config = configFor('/data', { type: 'api_key', in: 'header', name: 'X-API-Key', value: '${KEY}' });
    await expect(r.run({ runKey: 'data/1' })).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/the API redirected to a data: URL: only http\(s\) is followed/) });
    config = configFor('/other-401', { type: 'bearer', token: '${KEY}' });
    const err = (await r.run({ runKey: 'other401/1' }).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ nonRetryable: true, type: 'HttpStatusError' });
    expect(err.message).not.toMatch(/source\.auth/);
  });

  it('relative next links resolve against where a redirect led, and the cursor keeps that URL without the key', async () => {
    // /v1/list moved to /v2/list (its redirect drops the query); page 1 links to page 2 by a query-only reference.
    const seen: string[] = [];
    const moved = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      seen.push(`${u.pathname}?page=${u.searchParams.get('page') ?? ''}`);
      if (u.pathname === '/v1/list') return void res.writeHead(301, { location: '/v2/list' }).end();
      const page = u.searchParams.get('page') ?? '1';
      // The last page moved again: its own link (the end) and the cursor are where it answered from.
      if (u.pathname === '/v2/list' && page === '2') return void res.writeHead(302, { location: '/v3/list?page=2' }).end();
      const data = page === '1' ? [{ id: 1, name: 'one' }, { id: 2, name: 'two' }] : [{ id: 3, name: 'three' }];
      res.writeHead(200, { 'content-type': 'application/json', ...(page === '1' ? { link: '<?page=2>; rel="next"' } : {}) }).end(JSON.stringify({ data }));
    });
    await new Promise<void>((ok) => moved.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(moved.address() as AddressInfo).port}/v1/list`;
      config = parseConfig({
        integrations: [
          {
            id: 'api',
            source: { kind: 'http', url, records: 'data', columns: { id: 'bigint', name: 'text' }, pagination: { style: 'link_header' }, auth: { type: 'api_key', in: 'query', name: 'api_key', value: '${QUERY_KEY}' } },
            sink: { url: '${DST_URL}', table: 'redir.moved', key: ['id'], create: true },
          },
        ],
      });
      // Resolved against the URL asked, page 2's link was /v1/list?page=2, which the move sent back to page 1: 2 rows, "done".
      await expect(r.run({ runKey: 'moved/1' })).resolves.toMatchObject({ rows: 3, done: true });
      expect(seen).toEqual(['/v1/list?page=', '/v2/list?page=', '/v2/list?page=2', '/v3/list?page=2']);
      expect(await sql(dst.url, 'SELECT count(*)::int AS n FROM redir.moved')).toEqual([{ n: 3 }]);
      const [cp] = await sql(dst.url, `SELECT cursor AS c FROM tidemark.checkpoints WHERE integration = 'api' AND slot = 'backfill'`);
      expect(cp?.c).toEqual({ next: '/v3/list?page=2' });
      expect(JSON.stringify(cp?.c)).not.toContain(QUERY_KEY);
    } finally {
      await new Promise((ok) => moved.close(ok));
    }
  });
});
