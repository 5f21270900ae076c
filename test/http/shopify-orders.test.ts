import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type Config } from '../../src/config';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { exampleConfig } from './example-config';
import { startShopifyFake } from './fakes/shopify-fake';
import { expectExactCopy, runner, TOKEN } from './helpers';

const RECORDS = 400;
const ORDERS = '/admin/api/2024-01/orders.json';
let dst: TestDatabase;
let api: Awaited<ReturnType<typeof startShopifyFake>> | undefined;
let config: Config;
let shopToken = TOKEN;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, DST_URL: dst.url, SHOPIFY_TOKEN: shopToken }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_shopify');
});
afterAll(async () => {
  await dst?.drop();
});
afterEach(async () => {
  await api?.close();
  api = undefined;
  shopToken = TOKEN;
  await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

const keys = (u: URL) => [...u.searchParams.keys()].sort();

describe('examples/shopify-orders.yaml against a Shopify-like REST Admin API', () => {
  it('follows the page_info links as given (no filter next to page_info), limit never above 250; a sync reads exactly the changed and new orders', async () => {
    api = await startShopifyFake(RECORDS, 81, { token: TOKEN });
    config = exampleConfig('shopify-orders', { source: { pageSize: 50 } });
    const full = await r.run({ runKey: 'shop/backfill' });
    expect(full).toMatchObject({ rows: RECORDS, done: true });
    await expectExactCopy(dst.url, api.data);

    const m = api.data.mutate(80); // some orders become cancelled or refunded: only status=any still lists them
    const sync = await r.run({ runKey: 'shop/sync', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: m.updated.length + m.inserted.length, done: true });
    await expectExactCopy(dst.url, api.data);

    const [backfillFirst, syncFirst, ...more] = api.log.filter((q) => !q.url.searchParams.has('page_info'));
    expect(more).toEqual([]); // one first request per pass, every other one a next link
    expect(keys(backfillFirst!.url)).toEqual(['limit', 'status']);
    expect(keys(syncFirst!.url)).toEqual(['limit', 'status', 'updated_at_min']);
    expect(syncFirst!.url.searchParams.get('status')).toBe('any');
    expect(syncFirst!.url.searchParams.get('updated_at_min')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const followed = api.log.filter((q) => q.url.searchParams.has('page_info'));
    expect(followed.length).toBe(RECORDS / 50 - 1 + 1); // 7 more backfill pages, 1 more sync page (80 changes)
    for (const q of followed) expect(keys(q.url)).toEqual(['limit', 'page_info']);
    for (const q of api.log) {
      expect(q.url.pathname).toBe(ORDERS);
      expect(q.url.searchParams.get('limit')).toBe('50');
    }
  });

  it('a throttled answer (429 + Retry-After from the leaky bucket) is waited out as long as it says; the copy is exact', async () => {
    api = await startShopifyFake(RECORDS, 82, { token: TOKEN, bucket: 2, leakPerSecond: 4, retryAfter: 0.4 });
    config = exampleConfig('shopify-orders', { source: { pageSize: 50 } });
    const full = await r.run({ runKey: 'shop/throttled' });
    expect(full).toMatchObject({ rows: RECORDS, done: true });
    await expectExactCopy(dst.url, api.data);
    expect(api.throttles.length).toBeGreaterThan(0);
    for (const t of api.throttles) {
      // backoff alone would retry within 200 ms here; Retry-After says 0.4 (seconds)
      expect(t.retryAfterMs).toBe(400);
      const next = api.log[api.log.indexOf(t.request) + 1];
      expect(next, 'the throttled request was tried again').toBeDefined();
      expect(next!.at - t.request.at).toBeGreaterThanOrEqual(t.retryAfterMs - 5);
    }
  });

  it('a wrong X-Shopify-Access-Token is refused with 401: the run fails at once, non-retryable, without the token in the message', async () => {
    api = await startShopifyFake(RECORDS, 83, { token: TOKEN });
    config = exampleConfig('shopify-orders');
    shopToken = 'shpat_wrong-token-81x';
    const err = await r.run({ runKey: 'shop/401' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, type: 'CredentialsRefusedError', message: expect.stringContaining('401') });
    expect((err as Error).message).not.toContain(shopToken);
    expect(api.log).toHaveLength(1);
    expect(api.log[0]!.headers['x-shopify-access-token']).toBe(shopToken); // sent in the documented header
  });

  it('the fake refuses what Shopify refuses (no token, limit over 250, a filter next to page_info), and the example cannot ask for more than 250', async () => {
    api = await startShopifyFake(RECORDS, 84, { token: TOKEN });
    const get = (query: string, token: string | null = TOKEN) => fetch(`${api!.url}${ORDERS}?${query}`, { headers: token ? { 'x-shopify-access-token': token } : {} });
    expect((await get('limit=50', null)).status).toBe(401);
    expect((await get('limit=251')).status).toBe(400);
    const first = await get('limit=250&status=any');
    expect(first.status).toBe(200);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
    expect(next).toBeDefined();
    expect((await fetch(next!, { headers: { 'x-shopify-access-token': TOKEN } })).status).toBe(200);
    const withFilter = await fetch(`${next!}&updated_at_min=2024-01-01T00:00:00Z`, { headers: { 'x-shopify-access-token': TOKEN } });
    expect(withFilter.status).toBe(400);
    expect(await withFilter.json()).toEqual({ errors: { updated_at_min: 'updated_at_min cannot be passed when page_info is present' } });

    expect(() => exampleConfig('shopify-orders', { source: { pageSize: 300 } })).toThrow(ConfigError);
    expect(() => exampleConfig('shopify-orders', { source: { pageSize: 300 } })).toThrow(/pageSize/);
  });
});
