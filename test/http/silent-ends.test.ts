import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { runner } from './helpers';

// An acceptance run (an engineer's own fakes of Slack, GitHub, HubSpot and Stripe): answers that say more records
// follow but give no way on, or hand back a position met before, ended the read as "done" or looped forever.
// Each must fail the run, naming the field, and keep the pages read before.
const RECORDS = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `r${i + 1}` }));
const PAGE = 3;

/** How the fake misbehaves: at which page (1-based), and how. */
let fault: { page: number; kind: 'no-token' | 'loop' | 'empty' | 'empty-then-more' } | undefined;
let requests = 0;

function page(n: number) {
  return RECORDS.slice((n - 1) * PAGE, n * PAGE);
}

let srv: Server;
let base = '';
let dst: TestDatabase;
let config: Config;
const r = runner(
  () => config,
  () => ({ DST_URL: dst.url }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_silent_ends');
  srv = createServer((req, res) => {
    requests++;
    const u = new URL(req.url ?? '/', 'http://x');
    const json = (body: unknown, headers: Record<string, string> = {}) => res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    const last = Math.ceil(RECORDS.length / PAGE);
    if (u.pathname === '/slack') {
      // Slack's conversations.history: response_metadata.next_cursor, has_more.
      const n = Number(u.searchParams.get('cursor')?.replace('c', '') || '1');
      const more = n < last;
      if (fault?.kind === 'empty-then-more' && n === fault.page) return json({ ok: true, messages: [], has_more: true, response_metadata: { next_cursor: `c${n + 1}` } });
      const next = fault?.kind === 'loop' && n === fault.page ? 'c2' : more ? `c${n + 1}` : '';
      const meta = fault?.kind === 'no-token' && n === fault.page ? {} : { next_cursor: next };
      const flag = fault?.kind === 'no-token' && n === fault.page ? true : more; // a "page full" flag on the last page
      return json({ ok: true, messages: page(n), has_more: flag, response_metadata: meta });
    }
    if (u.pathname === '/issues') {
      // GitHub: a Link header, page numbers inside it.
      const n = Number(u.searchParams.get('page') ?? '1');
      const to = fault?.kind === 'loop' && n === fault.page ? 2 : n + 1;
      return json(page(n), n < last ? { link: `<${base}/issues?page=${to}>; rel="next"` } : {});
    }
    if (u.pathname === '/search') {
      // HubSpot-like offset paging with a total.
      const offset = Number(u.searchParams.get('offset') ?? '0');
      const results = fault?.kind === 'empty' && offset >= (fault.page - 1) * PAGE ? [] : RECORDS.slice(offset, offset + PAGE);
      return json({ total: RECORDS.length, results });
    }
    if (u.pathname === '/charges') {
      // Stripe: starting_after, has_more.
      const after = Number(u.searchParams.get('starting_after') ?? '0');
      const n = after / PAGE + 1;
      const data = fault?.kind === 'empty' && n >= fault.page ? [] : page(n);
      return json({ object: 'list', data, has_more: n < last });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((ok) => srv?.close(ok));
  await dst?.drop();
});
beforeEach(async () => {
  fault = undefined;
  requests = 0;
  await sql(dst.url, 'DROP SCHEMA IF EXISTS silent CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

function configFor(path: string, records: string, pagination: Record<string, unknown>, params: Record<string, string> = {}): Config {
  return parseConfig({
    integrations: [
      {
        id: 'api',
        source: { kind: 'http', url: `${base}${path}`, records, params, columns: { id: 'bigint', name: 'text' }, pagination, pageSize: PAGE },
        sink: { url: '${DST_URL}', table: 'silent.items', key: ['id'], create: true },
        batchSize: PAGE,
      },
    ],
  });
}

const written = async () => (await sql<{ n: number }>(dst.url, 'SELECT count(*)::int AS n FROM silent.items'))[0]?.n;
const failure = (key: string) => r.run({ runKey: key }).then((ok) => ({ ok }), (err: unknown) => err as { nonRetryable?: boolean; message: string });

describe('http source: an answer that says more follow but gives no way on fails the run', () => {
  const slack = (next = 'response_metadata.next_cursor') => configFor('/slack', 'messages', { style: 'cursor', param: 'cursor', next, hasMore: 'has_more' });

  it('reads the whole list when every answer is whole (the control)', async () => {
    config = slack();
    await expect(r.run({ runKey: 'ok/1' })).resolves.toMatchObject({ rows: 12, done: true });
    expect(await written()).toBe(12);
  });

  it('cursor: has_more true with no token at pagination.next (a typo in the path) fails, naming the path', async () => {
    config = slack('response_metadata.nextCursor');
    const err = await failure('typo/1');
    expect(err).toMatchObject({ nonRetryable: true, message: expect.stringMatching(/source\.pagination\.next: the API says more records follow \("has_more" is true\) but its answer has no next cursor at "response_metadata\.nextCursor"/) });
    // The first page was read and kept; nothing after it was taken for the end.
    expect(await written()).toBe(3);
  });

  it('cursor: has_more true without a token after answers that had one ends the list (a "page full" flag on an exactly full last page)', async () => {
    fault = { page: 4, kind: 'no-token' };
    config = slack();
    await expect(r.run({ runKey: 'full/1' })).resolves.toMatchObject({ rows: 12, done: true });
  });

  it('cursor: a token handed out again after another page fails at once instead of reading forever', async () => {
    fault = { page: 3, kind: 'loop' };
    config = slack();
    const err = await failure('loop/1');
    expect(err).toMatchObject({ nonRetryable: true, message: expect.stringMatching(/source\.pagination\.next: the next cursor after page 3 of this read is the one after page 1: the API's list loops back/) });
    expect(requests).toBe(3);
    // The pages before are kept, and the checkpoint stays before the page whose token points back into the loop.
    expect(await written()).toBe(6);
    expect(await sql(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'api' AND slot = 'backfill'`)).toEqual([{ cursor: { token: 'c3' } }]);
  });

  it('cursor: an empty page with has_more true and a new token goes on (Slack may answer so)', async () => {
    fault = { page: 2, kind: 'empty-then-more' };
    config = slack();
    await expect(r.run({ runKey: 'gap/1' })).resolves.toMatchObject({ rows: 9, done: true });
    expect(requests).toBe(4);
  });

  it('link_header: a next link back to a page met before fails, naming pagination.rel', async () => {
    fault = { page: 3, kind: 'loop' };
    config = configFor('/issues', '.', { style: 'link_header' });
    const err = await failure('gh/1');
    expect(err).toMatchObject({ nonRetryable: true, message: expect.stringMatching(/source\.pagination\.rel: the next link after page 3 of this read is the one after page 1: the API's list loops back/) });
    expect(requests).toBe(3);
  });

  it('offset: an empty page before the total the same answer gives fails, naming pagination.total', async () => {
    fault = { page: 3, kind: 'empty' };
    config = configFor('/search', 'results', { style: 'offset', total: 'total' });
    const err = await failure('hs/1');
    expect(err).toMatchObject({ nonRetryable: true, message: expect.stringMatching(/source\.pagination\.total: the API answered an empty page at offset 6, but its total \("total"\) in the same answer is 12: tidemark stops rather than skip 6 records/) });
    expect(await written()).toBe(6);
  });

  it('starting_after: an empty page with has_more true fails, naming pagination.hasMore', async () => {
    fault = { page: 2, kind: 'empty' };
    config = configFor('/charges', 'data', { style: 'starting_after', idField: 'id' });
    const err = await failure('stripe/1');
    expect(err).toMatchObject({ nonRetryable: true, message: expect.stringMatching(/source\.pagination\.hasMore: the API says more records follow \("has_more" is true\) but sent an empty page/) });
    expect(await written()).toBe(3);
  });
});
