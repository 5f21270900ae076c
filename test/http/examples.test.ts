import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import type { Order } from '../../src/mock-api';
import type { Mutation, OrdersDataset } from '../../src/mock-api/orders-dataset';
import { exampleConfig } from './example-config';
import { useFakeApiTarget } from './fakes/fake-target';
import type { FakeApi } from './fakes/fake-server';
import { startGithubFake } from './fakes/github-fake';
import { startGraphqlFake } from './fakes/graphql-fake';
import { startHubspotFake } from './fakes/hubspot-fake';
import { startOffsetFake } from './fakes/offset-fake';
import { startSalesforceFake } from './fakes/salesforce-fake';
import { startShopifyFake } from './fakes/shopify-fake';
import { startStripeFake } from './fakes/stripe-fake';
import { startSlackFake } from './fakes/slack-fake';
import { startZendeskFake } from './fakes/zendesk-fake';
import { expectExactCopy, pause, runner, TOKEN } from './helpers';
import { sql } from '../helpers/fixtures';

const RECORDS = 500;
const TOKENS = ['SLACK_BOT_TOKEN', 'GITHUB_TOKEN', 'ZENDESK_TOKEN', 'SF_ACCESS_TOKEN', 'HUBSPOT_TOKEN', 'STRIPE_SECRET_KEY', 'ITEMS_TOKEN', 'SHOPIFY_TOKEN', 'GRAPHQL_TOKEN'];
let api: FakeApi | undefined;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, DST_URL: dst.url, ...Object.fromEntries(TOKENS.map((t) => [t, TOKEN])) }),
);

const dst = useFakeApiTarget('http_examples', async () => {
  await api?.close();
  api = undefined;
});

type Expect = (m: Mutation, before: Order[]) => { rows: number; target: Order[] };
const changesExactly: Expect = (m) => ({ rows: m.updated.length + m.inserted.length, target: api!.data.snapshot() });
const everything: Expect = () => ({ rows: api!.data.size, target: api!.data.snapshot() });
const newOnly: Expect = (m, before) => {
  const now = new Map(api!.data.snapshot().map((o) => [o.id, o]));
  return { rows: m.inserted.length, target: [...before, ...m.inserted.map((id) => now.get(id) as Order)] };
};

// The Stripe and Slack examples keep a `lag` of minutes (a record shows up in the list late); the fakes list a new
// record at once, so those cases sync without it, to read the changes made a second ago.
const NO_LAG = { source: { lag: 0 } };
const CASES: [string, () => Promise<FakeApi>, Expect, { ownColumns?: boolean; source?: Record<string, unknown> }?][] = [
  ['github-issues', () => startGithubFake(RECORDS, 71, { token: TOKEN }), changesExactly],
  ['zendesk-tickets', () => startZendeskFake(RECORDS, 72, TOKEN), changesExactly],
  ['salesforce-orders', () => startSalesforceFake(RECORDS, 73, TOKEN), changesExactly],
  ['hubspot-contacts', () => startHubspotFake(RECORDS, 74, TOKEN), changesExactly],
  ['stripe-charges', () => startStripeFake(RECORDS, 75, TOKEN), newOnly, NO_LAG],
  ['offset-items', () => startOffsetFake(RECORDS, 76, TOKEN), everything],
  ['shopify-orders', () => startShopifyFake(RECORDS, 77, { token: TOKEN }), changesExactly],
  ['graphql-items', () => startGraphqlFake(RECORDS, 78, { token: TOKEN }), changesExactly, { ownColumns: true }],
  ['slack-messages', () => startSlackFake(RECORDS, 81, { token: TOKEN, rateLimitEvery: 7 }), newOnly, NO_LAG],
];

describe('examples/*.yaml, end to end against their fakes: backfill, changes, sync, exact target', () => {
  for (const [name, start, expected, o] of CASES) {
    it(name, async () => {
      api = await start();
      config = exampleConfig(name, { ownColumns: o?.ownColumns, ...(o?.source ? { source: o.source } : {}) });
      const full = await r.run({ runKey: `${name}/backfill` });
      expect(full).toMatchObject({ rows: RECORDS, done: true });
      await expectExactCopy(dst.url, api.data);
      const before = api.data.snapshot();
      const m = api.data.mutate(60);
      await pause(1100); // whole-second bounds (Stripe) must be past the changes
      const want = expected(m, before);
      const sync = await r.run({ runKey: `${name}/sync`, mode: 'sync', after: full.cursor });
      expect(sync).toMatchObject({ rows: want.rows, done: true });
      await expectExactCopy(dst.url, { snapshot: () => want.target });
    });
  }
});

// Stripe lists a charge, and Slack a message, a while after its creation time: the examples' `lag` keeps each pass that
// far behind now, so a record listed late still lies ahead of the cursor. Here a record shows up in the list just
// inside the lag after the backfill (created 118 s / 58 s before it is listed), and the next sync reads it.
const LATE: [string, () => Promise<FakeApi>, number][] = [
  ['stripe-charges', () => startStripeFake(RECORDS, 82, TOKEN), 120_000],
  ['slack-messages', () => startSlackFake(RECORDS, 83, { token: TOKEN }), 60_000],
];

describe('examples/*.yaml with their lag as written: a record listed late is read by the next sync', () => {
  for (const [name, start, lagMs] of LATE) {
    it(`${name} (lag ${lagMs / 1000} s)`, async () => {
      api = await start();
      config = exampleConfig(name);
      const full = await r.run({ runKey: `${name}-late/backfill` });
      expect(full).toMatchObject({ rows: RECORDS, done: true });
      const before = api.data.snapshot();
      // Created 2 s inside the lag before now: after the backfill's range (it ended `lag` before the backfill began).
      const m = api.data.mutate(40, Date.now() - lagMs + 2_000);
      expect(m.inserted.length).toBeGreaterThan(0);
      await pause(3_100); // the next pass's end (now - lag) moves past their creation
      const want = newOnly(m, before);
      const sync = await r.run({ runKey: `${name}-late/sync`, mode: 'sync', after: full.cursor });
      expect(sync).toMatchObject({ rows: want.rows, done: true });
      await expectExactCopy(dst.url, { snapshot: () => want.target });
    });
  }
});

describe('examples/*.yaml under change during a pass: nothing is skipped', () => {
  it('github-issues: an issue edited after its page was read (sorted by created, it keeps its place); the next sync has every version', async () => {
    // An issue on the first page whichever the sort (created or updated), edited before the third page is read.
    const firstPage = (data: OrdersDataset) => data.byTimeOrder().slice(0, 100).find((e) => e.order.id <= 100)!.order.id;
    const gh = await startGithubFake(RECORDS, 79, { token: TOKEN, beforeRequest: (n, data) => void (n === 3 && data.touch(firstPage(data))) });
    api = gh;
    config = exampleConfig('github-issues');
    const full = await r.run({ runKey: 'gh-edit/backfill' });
    expect(full).toMatchObject({ rows: RECORDS, done: true });
    await pause(1100); // past the second the pass began (its since is floored to it)
    const sync = await r.run({ runKey: 'gh-edit/sync', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ done: true });
    await expectExactCopy(dst.url, gh.data);
  });

  it('hubspot-contacts: past the search cap (after + limit), the pass goes on after the last id; a contact updated mid-pass keeps its place', async () => {
    const firstPage = (data: OrdersDataset) => data.byIdOrder()[3]!.order.id;
    const hs = await startHubspotFake(2_500, 80, TOKEN, { maxResults: 1_000, beforeRequest: (n, data) => void (n === 3 && data.touch(firstPage(data))) });
    api = hs;
    // The example as written, with the fake's smaller cap (HubSpot's is 10,000).
    config = exampleConfig('hubspot-contacts', { source: { pagination: { style: 'offset', sinceFormat: 'epoch_ms', total: 'total', maxPageSize: 200, maxOffset: 1_000, anchorField: 'id' } } });
    const full = await r.run({ runKey: 'hs-cap/backfill' });
    expect(full).toMatchObject({ rows: 2_500, done: true });
    // Every request stayed within the cap; three searches went on after the last id read (1,000 records each).
    const bodies = hs.log.map((q) => q.json as { after: string; limit: number; filterGroups: { filters: { propertyName: string; value: string }[] }[] });
    expect(Math.max(...bodies.map((b) => Number(b.after) + b.limit))).toBeLessThanOrEqual(1_000);
    const anchors = bodies.map((b) => b.filterGroups[0]?.filters.find((f) => f.propertyName === 'hs_object_id')?.value).filter((v) => v !== undefined);
    expect([...new Set(anchors)]).toEqual(['1000', '2000']);
    const m = hs.data.mutate(40);
    await pause(5);
    const sync = await r.run({ runKey: 'hs-cap/sync', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ done: true });
    expect((sync as { rows: number }).rows).toBeGreaterThanOrEqual(m.updated.length + m.inserted.length);
    await expectExactCopy(dst.url, hs.data);
  });
});

describe('slack-messages: the example as written (its own columns), and the errors Slack answers with HTTP 200', () => {
  it('reads every message once with its ts as the key and the exact time; token_revoked fails as refused credentials, channel_not_found as an API error, naming it', async () => {
    const slack = await startSlackFake(300, 82, { token: TOKEN });
    api = slack;
    config = exampleConfig('slack-messages', { ownColumns: true });
    const sink = { url: '${DST_URL}', table: 'api.messages', key: ['ts'], create: true };
    config.integrations[0]!.sink = { ...config.integrations[0]!.sink, ...sink } as typeof config.integrations[0]['sink'];
    expect(await r.run({ runKey: 'slack/full' })).toMatchObject({ rows: 300, done: true });
    const rows = await sql<{ n: string; distinct_ts: string; exact: boolean }>(
      dst.url,
      `SELECT count(*)::text AS n, count(DISTINCT ts)::text AS distinct_ts,
              bool_and(to_char(sent_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS.US') = to_char(to_timestamp(split_part(ts, '.', 1)::bigint) AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS') || '.' || split_part(ts, '.', 2)) AS exact
         FROM api.messages`,
    );
    expect(rows).toEqual([{ n: '300', distinct_ts: '300', exact: true }]);

    await slack.close();
    await pause(1100); // a sync reads only once its whole-second bound has moved past the backfill's
    const revoked = await startSlackFake(300, 82, { token: TOKEN, revoked: true });
    api = revoked;
    await expect(r.run({ runKey: 'slack/revoked', mode: 'sync' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'ApiCredentialsRefusedError',
      message: expect.stringMatching(/^GET .*conversations\.history.* → the API refuses the credentials: token_revoked \(source\.responses\.authErrors\)/),
    });
    // Without responses.errors the run fails on the missing records, and the short error body says why.
    const src = config.integrations[0]!.source as { responses?: unknown };
    const policy = src.responses;
    src.responses = { rateLimited: [{ status: 429 }], wait: [], skip: [] };
    await expect(r.run({ runKey: 'slack/no-policy', mode: 'sync' })).rejects.toMatchObject({ message: expect.stringContaining('source.records: the response has no array at "messages" (top-level keys: ok, error; the body: {"ok":false,"error":"token_revoked"})') });
    src.responses = policy;
    await revoked.close();
    api = await startSlackFake(300, 82, { token: TOKEN });
    config.integrations[0]!.source = { ...config.integrations[0]!.source, params: { channel: 'C_GONE', inclusive: 'true' } } as typeof config.integrations[0]['source'];
    await expect(r.run({ runKey: 'slack/gone', mode: 'sync' })).rejects.toMatchObject({ nonRetryable: true, type: 'HttpSourceError', message: expect.stringContaining('source.responses.errors: the API answered with errors: "channel_not_found"') });
  });
});
