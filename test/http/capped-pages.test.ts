import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { forgetPageCaps } from '../../src/sources/http/page-cap';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { apiConfig, expectExactCopy, httpSource, pause, rewritten, rowVersions, runner, TOKEN, type Style } from './helpers';

// An API that serves at most CAP records per answer whatever is asked, with no has-more flag and no
// totals, read with batchSize 1000 (the http source's page size defaults to it): the case.
const RECORDS = 3_000;
const CAP = 250;
/** time_window needs every group of records sharing one timestamp to fit one answer (seed 12: at most 393). */
const WINDOW_CAP = 450;
const BATCH = { batchSize: 1000 };

let dst: TestDatabase;
let api: MockApi;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_capped');
});
afterAll(async () => {
  await api?.close();
  await dst?.drop();
});
beforeEach(async () => {
  await api?.close();
  api = await startMockApi({ records: RECORDS, seed: 12, token: TOKEN, pageCap: CAP });
  forgetPageCaps();
  await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

async function runRow(runId: string): Promise<{ read: string; committed: string }> {
  const [run] = await sql<{ read: string; committed: string }>(dst.url, `SELECT rows_read::text AS read, rows_committed::text AS committed FROM tidemark.runs WHERE run_id = $1`, [runId]);
  return run!;
}

describe('an API that silently caps its page size never loses data', () => {
  it('the mock API caps silently: at most N records whatever is asked, and no has-more hints', async () => {
    const get = async (path: string) => (await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<Record<string, unknown>>;
    const pages = await get('/v1/orders/pages?per_page=1000&page=2');
    expect((pages.data as unknown[]).length).toBe(CAP);
    expect(pages).not.toHaveProperty('total_pages');
    expect(pages).not.toHaveProperty('total');
    expect(pages).not.toHaveProperty('per_page');
    const list = await get('/v1/orders?limit=1000');
    expect((list.data as unknown[]).length).toBe(CAP);
    expect(list).not.toHaveProperty('has_more');
    const small = await get('/v1/orders/cursor?limit=10');
    expect((small.data as unknown[]).length).toBe(10);
    expect(small.next_cursor).toEqual(expect.any(String));
    expect(api.stats().capped).toBe(2); // asked 1000 twice; 10 is under the cap
  });

  // Each list style: the whole dataset, each record once; the pass reads on to an empty page (12 pages of
  // 250, then one empty answer), and after two answers the source asks for what the API gives.
  for (const style of ['cursor', 'starting_after', 'page'] as const satisfies Style[]) {
    it(`${style}: a backfill reads all ${RECORDS} records exactly, up to an empty page, and learns the cap`, async () => {
      config = apiConfig(style, style === 'page' ? { pagination: { style: 'page' } } : {}, BATCH);
      const full = await r.run({ runKey: `${style}/capped` });
      expect(full).toMatchObject({ rows: RECORDS, done: true });
      expect(await expectExactCopy(dst.url, api)).toBe(RECORDS);
      expect(await runRow(`${style}/capped`)).toEqual({ read: String(RECORDS), committed: String(RECORDS) });
      const s = api.stats();
      expect(s.served).toBe(RECORDS / CAP + 1); // the last answer was empty: nothing else said it was the end
      // A page pass keeps its page size (page n must stay the same records); the learned cap applies from the next pass.
      expect(s.capped).toBe(style === 'page' ? RECORDS / CAP + 1 : 2);

      const m = api.mutate(300);
      await pause(5);
      const before = await rowVersions(dst.url);
      api.resetStats();
      const sync = await r.run({ runKey: `${style}/capped-sync`, mode: 'sync', after: full.cursor });
      const expected = style === 'starting_after' ? m.inserted : [...m.updated, ...m.inserted].sort((a, b) => a - b);
      expect(sync.rows).toBe(expected.length);
      expect(rewritten(before, await rowVersions(dst.url))).toEqual(expected);
      expect(api.stats().capped).toBe(0); // every request asked at most the learned cap
      if (style !== 'starting_after') await expectExactCopy(dst.url, api);
    });
  }

  it(`time_window: a backfill reads all ${RECORDS} records exactly (every window confirmed by an answer with nothing new)`, async () => {
    api.setPageCap(WINDOW_CAP);
    config = apiConfig('time_window', {}, BATCH);
    const full = await r.run({ runKey: 'tw/capped' });
    expect(full).toMatchObject({ rows: RECORDS, done: true });
    expect(await expectExactCopy(dst.url, api)).toBe(RECORDS);
    expect(await runRow('tw/capped')).toEqual({ read: String(RECORDS), committed: String(RECORDS) });
    // Learned: after the first answers every request asks for what the API gives.
    expect(api.stats().capped).toBeLessThanOrEqual(3);
  });

  it('time_window: a bulk change of many records at one timestamp arrives whole, also before the cap is known', async () => {
    api.setPageCap(WINDOW_CAP);
    config = apiConfig('time_window', {}, BATCH);
    const full = await r.run({ runKey: 'tw/bulk-backfill' });
    let after = full.cursor;
    for (const round of [1, 2]) {
      // Round 2 starts with nothing learned: the only answer is one timestamp's group, short of the limit.
      if (round === 2) forgetPageCaps();
      const m = api.mutate(300);
      await pause(5);
      const before = await rowVersions(dst.url);
      api.resetStats();
      const sync = await r.run({ runKey: `tw/bulk-${round}`, mode: 'sync', after });
      const changed = [...m.updated, ...m.inserted].sort((a, b) => a - b);
      expect(sync).toMatchObject({ rows: changed.length, done: true });
      // The group, (round 2: a probe of the window before it, which shows the API gives more per answer,) then
      // the answer after it that holds nothing new and so ends the window.
      expect(api.stats().served).toBe(round === 1 ? 2 : 3);
      expect(rewritten(before, await rowVersions(dst.url))).toEqual(changed);
      await expectExactCopy(dst.url, api);
      after = sync.cursor;
    }
  });

  it('time_window with maxWindow: windows of every size, each read to its end, every record once', async () => {
    api.setPageCap(WINDOW_CAP);
    const hw = '2024-01-01T00:40:00.000Z';
    const s = await httpSource(api, 'time_window', { pageSize: 1000, pagination: { style: 'time_window', start: '2024-01-01T00:00:00Z', maxWindow: '7m' } }, { highWater: hw });
    const ids: number[] = [];
    let last: unknown;
    for await (const p of s.pages(null, { limit: 1000 })) {
      ids.push(...p.rows.map((row) => Number(row[0])));
      last = p.cursor;
    }
    const want = api.snapshot().filter((o) => Date.parse(o.updated_at) < Date.parse(hw)).map((o) => o.id);
    expect(want.length).toBeGreaterThan(2 * WINDOW_CAP); // several capped answers per window
    expect(ids.length).toBe(want.length); // no duplicates
    expect(ids.sort((a, b) => a - b)).toEqual(want);
    expect(last).toEqual({ from: hw });
    await s.close();
  });

  it('time_window: more records at one timestamp than the API serves per answer fail loudly, never skipped', async () => {
    // Seed 12's largest group (393 records) cannot fit an answer of at most 250.
    const s = await httpSource(api, 'time_window', { pageSize: 1000 });
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for await (const p of s.pages(null, { limit: 1000 })) seen.push(p.cursor);
      })(),
    ).rejects.toThrow(/gives at most 250 records per request \(it ignores larger limits\) and at least that many have updated_at = /);
    expect(seen.length).toBeGreaterThan(0); // the records before the group were read, and their cursor stays
    await s.close();
  });

  it('time_window: a lone group as large as every answer so far fails loudly rather than guess it is whole', async () => {
    const snapshot = api.snapshot();
    const counts = new Map<string, number>();
    for (const o of snapshot) counts.set(o.updated_at, (counts.get(o.updated_at) ?? 0) + 1);
    const [time, size] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    expect(size).toBeGreaterThan(CAP);
    // The window holds only that group, and nothing before it can show the API gives more per answer.
    const hw = new Date(Date.parse(time) + 1).toISOString();
    const s = await httpSource(api, 'time_window', { pageSize: 1000, pagination: { style: 'time_window', start: time } }, { highWater: hw });
    await expect(s.pages(null, { limit: 1000 })[Symbol.asyncIterator]().next()).rejects.toThrow(/cannot tell whether that is every record at .* or the API's page cap/);
    await s.close();
  });

  it('config: a pageSize above the declared maxPageSize is refused, naming the field', () => {
    expect(() => apiConfig('cursor', { pageSize: 500, pagination: { style: 'cursor', maxPageSize: 100 } })).toThrow(/pageSize[\s\S]*500, more than pagination\.maxPageSize \(100\)/);
    expect(() => apiConfig('time_window', { pageSize: 2000 })).toThrow(/pageSize[\s\S]*more than pagination\.maxPageSize \(1000\)/);
    expect(() => apiConfig('page', { pageSize: 100, pagination: { style: 'page', maxPageSize: 100 } })).not.toThrow();
  });

  it('a batch size above maxPageSize asks the API for maxPageSize records at most', async () => {
    api.setPageCap(undefined);
    const s = await httpSource(api, 'starting_after', { pagination: { style: 'starting_after', maxPageSize: 100 } });
    let pages = 0;
    for await (const p of s.pages(null, { limit: 5000 })) {
      expect(p.rows.length).toBeLessThanOrEqual(100);
      pages++;
    }
    expect(pages).toBe(RECORDS / 100);
    await s.close();
  });
});
