import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { sql } from '../helpers/fixtures';
import type { FakeApi } from './fakes/fake-server';
import { useFakeApiTarget } from './fakes/fake-target';
import { fakeConfig } from './fakes/fake-config';
import { startGithubFake } from './fakes/github-fake';
import { startHalFake } from './fakes/hal-fake';
import { startOffsetFake } from './fakes/offset-fake';
import { startZendeskFake } from './fakes/zendesk-fake';
import { expectExactCopy, pause, rewritten, rowVersions, runner, TOKEN } from './helpers';

const RECORDS = 1_200;
const API_KEY = 'hal-key-Q9x7w2';
let api: FakeApi | undefined;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, API_TOKEN: TOKEN, API_KEY, DST_URL: dst.url }),
);

const dst = useFakeApiTarget('http_saas_pages', async () => {
  await api?.close();
  api = undefined;
});

/** Backfill equals the dataset; after changes, a sync reads `expected(changed)` records and the target equals the dataset again. */
async function backfillThenSync(key: string, expected: (changed: number[]) => number): Promise<{ backfill: unknown; sync: unknown }> {
  const a = api!;
  const full = await r.run({ runKey: `${key}/backfill` });
  expect(full).toMatchObject({ rows: RECORDS, done: true });
  expect(await expectExactCopy(dst.url, a.data)).toBe(RECORDS);
  const before = await rowVersions(dst.url);
  const m = a.data.mutate(150);
  await pause(5);
  const changed = [...m.updated, ...m.inserted].sort((x, y) => x - y);
  const sync = await r.run({ runKey: `${key}/sync`, mode: 'sync', after: full.cursor });
  expect(sync).toMatchObject({ rows: expected(changed), done: true });
  expect(rewritten(before, await rowVersions(dst.url))).toEqual(expect.arrayContaining(changed));
  await expectExactCopy(dst.url, a.data);
  return { backfill: full.cursor, sync: sync.cursor };
}

/** The GitHub-like fake's issues, paged by Link headers with a since filter. */
function githubConfig(extra?: Parameters<typeof fakeConfig>[1]): Config {
  return fakeConfig(
    {
      url: '${API_URL}/repos/acme/shop/issues',
      headers: { Authorization: 'Bearer ${API_TOKEN}' },
      params: { state: 'all', sort: 'updated', direction: 'asc' },
      records: '.',
      pagination: { style: 'link_header', limitParam: 'per_page', maxPageSize: 100, sinceParam: 'since' },
    },
    extra,
  );
}

describe('http source: pagination of real SaaS APIs, end to end against local fakes', () => {
  it('GitHub-like Link header with since: backfill, then a sync reads exactly the changed issues (per_page capped at 100)', async () => {
    api = await startGithubFake(RECORDS, 21, { token: TOKEN });
    config = githubConfig({ batchSize: 500 });
    const c = await backfillThenSync('gh', (changed) => changed.length);
    expect(c.backfill).toEqual({ since: expect.any(String) as string });
    // Every request asked at most the documented cap, and every next link was followed (none skipped).
    const perPage = api.log.map((q) => Number(q.url.searchParams.get('per_page')));
    expect(Math.max(...perPage)).toBe(100);
    expect(api.log[0]!.url.searchParams.get('since')).toBeNull();
    expect(api.log.at(-1)!.url.searchParams.get('since')).toBe((c.backfill as { since: string }).since);
  });

  it('GitHub-like: issues edited in the second a pass began (GitHub keeps whole seconds) are read by the next pass', async () => {
    api = await startGithubFake(RECORDS, 23, { token: TOKEN });
    config = githubConfig();
    const full = await r.run({ runKey: 'gh/second/backfill' });
    const since = (full.cursor as { since: string }).since;
    // The next pass's since is the pass's start floored to the second: an edit made just after the pass began,
    // stamped in whole seconds, lies at or after it (a since in ms would leave these behind for good).
    expect(since).toMatch(/T\d\d:\d\d:\d\d\.000Z$/);
    const m = api.data.mutate(5, Math.floor(Date.parse(since) / 1000) * 1000);
    const sync = await r.run({ runKey: 'gh/second/sync', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: m.updated.length + m.inserted.length, done: true });
    await expectExactCopy(dst.url, api.data);
  });

  it('GitHub-like: a run resumed mid-pass continues from the stored next link (no gap, no overlap)', async () => {
    api = await startGithubFake(RECORDS, 22, { token: TOKEN });
    config = githubConfig();
    const crash = new Error('worker died');
    const afterBatch = async ({ pages }: { pages: number }) => {
      if (pages === 4) throw crash;
    };
    await expect(r.run({ runKey: 'gh/resume' }, undefined, { afterBatch })).rejects.toBe(crash);
    const [cp] = await sql<{ cursor: { next: string } }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(cp!.cursor).toMatchObject({ since: null, next: expect.stringMatching(/^\/repos\/acme\/shop\/issues\?.*page=5/) as string });
    const { MockActivityEnvironment } = await import('@temporalio/testing');
    const res = await r.run({ runKey: 'gh/resume' }, new MockActivityEnvironment({ attempt: 2 }));
    expect(res).toMatchObject({ done: true });
    const [run] = await sql(dst.url, `SELECT rows_read::text AS read FROM tidemark.runs WHERE run_id = 'gh/resume'`);
    expect(run).toEqual({ read: String(RECORDS) });
    await expectExactCopy(dst.url, api.data);
  });

  it('Zendesk-like cursor export: after_cursor with the inverted end flag end_of_stream', async () => {
    api = await startZendeskFake(RECORDS, 23, TOKEN);
    config = fakeConfig({
      url: '${API_URL}/api/v2/incremental/tickets/cursor.json',
      headers: { Authorization: 'Bearer ${API_TOKEN}' },
      params: { start_time: 0 },
      records: 'tickets',
      pagination: { style: 'cursor', param: 'cursor', next: 'after_cursor', endFlag: 'end_of_stream', limitParam: 'per_page', maxPageSize: 1000 },
      pageSize: 250,
    });
    await backfillThenSync('zd', (changed) => changed.length);
    // end_of_stream ended each read: the backfill took ceil(1200/250) requests, no extra empty page.
    expect(api.log.length).toBe(5 + 1);
  });

  it('plain offset/limit (limit capped at 50 silently): every pass reads the whole list; the cap costs no record', async () => {
    api = await startOffsetFake(RECORDS, 24, TOKEN);
    config = fakeConfig({
      url: '${API_URL}/api/items',
      headers: { Authorization: 'Bearer ${API_TOKEN}' },
      records: 'items',
      pagination: { style: 'offset', total: 'total' },
    });
    await backfillThenSync('off', () => api!.data.size);
    const offsets = api.log.map((q) => Number(q.url.searchParams.get('offset')));
    expect(offsets.slice(0, 3)).toEqual([0, 50, 100]); // asked 100, got 50: the next page starts at 50
  });

  it('offset without a total: a short page does not end the pass, an empty one does', async () => {
    api = await startOffsetFake(RECORDS, 25, TOKEN);
    config = fakeConfig({ url: '${API_URL}/api/items', headers: { Authorization: 'Bearer ${API_TOKEN}' }, records: 'items', pagination: { style: 'offset' } });
    const res = await r.run({ runKey: 'off2/backfill' });
    expect(res).toMatchObject({ rows: RECORDS, done: true, cursor: { since: null } });
    await expectExactCopy(dst.url, api.data);
  });

  it('HAL _links.next.href with an api_key in the query: the stored cursor holds no key, the key is sent on every request', async () => {
    api = await startHalFake(RECORDS, 26, { apiKey: API_KEY });
    config = fakeConfig({
      url: '${API_URL}/hal/orders?api_key=${API_KEY}',
      records: '_embedded.orders',
      pagination: { style: 'next_url', next: '_links.next.href', limitParam: 'size', maxPageSize: 100, sinceParam: 'changed_since' },
    });
    const crash = new Error('worker died');
    const afterBatch = async ({ pages }: { pages: number }) => {
      if (pages === 2) throw crash;
    };
    await expect(r.run({ runKey: 'hal/crash' }, undefined, { afterBatch })).rejects.toBe(crash);
    const [cp] = await sql<{ cursor: { next: string } }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(cp!.cursor.next).toMatch(/^\/hal\/orders\?page_token=/);
    expect(JSON.stringify(cp!.cursor)).not.toContain(API_KEY);
    expect(JSON.stringify(cp!.cursor)).not.toContain('api_key');
    await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
    await backfillThenSync('hal', (changed) => changed.length);
    const runs = await sql<{ c: string }>(dst.url, `SELECT end_cursor::text AS c FROM tidemark.runs`);
    for (const run of runs) expect(run.c).not.toContain(API_KEY);
  });

  it('a next link to another origin fails the run, naming the field; nothing is sent there', async () => {
    api = await startHalFake(RECORDS, 27, { apiKey: API_KEY, linkOrigin: 'http://127.0.0.2:9' });
    config = fakeConfig({
      url: '${API_URL}/hal/orders?api_key=${API_KEY}',
      records: '_embedded.orders',
      pagination: { style: 'next_url', next: '_links.next.href', limitParam: 'size' },
    });
    const err = await r.run({ runKey: 'hal/evil' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'HttpSourceError', nonRetryable: true });
    expect((err as Error).message).toMatch(/source\.pagination\.next: the API's next link goes to http:\/\/127\.0\.0\.2:9, not the source's origin/);
    expect((err as Error).message).not.toContain(API_KEY);
    // The link is checked before the page that carries it is handed over: one request, no retries.
    expect(api.log.length).toBe(1);
  });
});
