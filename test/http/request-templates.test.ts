import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config';
import { ConfigError } from '../../src/config/errors';
import { useFakeApiTarget } from './fakes/fake-target';
import { fakeConfig } from './fakes/fake-config';
import type { FakeApi } from './fakes/fake-server';
import { startHubspotFake } from './fakes/hubspot-fake';
import { startSalesforceFake } from './fakes/salesforce-fake';
import { sql } from '../helpers/fixtures';
import { expectExactCopy, pause, rewritten, rowVersions, runner, TOKEN } from './helpers';

const RECORDS = 1_200;
let api: FakeApi | undefined;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

// Offsets inside a pass with the since filter held fixed: groups of one modified time may exceed the
// 200-record page, which a time window could not split.
const HUBSPOT_BODY = `{
  "filterGroups": $since ? [{ "filters": [{ "propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": $since }] }] : [],
  "sorts": [{ "propertyName": "hs_lastmodifieddate", "direction": "ASCENDING" }],
  "limit": $limit,
  "after": $string($offset)
}`;
const hubspot = (auth: Record<string, unknown> = { headers: { Authorization: 'Bearer ${API_TOKEN}' } }) =>
  fakeConfig({
    url: '${API_URL}/crm/v3/objects/orders/search',
    ...auth,
    records: 'results',
    pagination: { style: 'offset', sinceFormat: 'epoch_ms', total: 'total', maxPageSize: 200 },
    request: { method: 'POST', body: HUBSPOT_BODY },
  });
const SOQL = `'SELECT Id, Number FROM Order' & ($since ? ' WHERE SystemModstamp >= ' & $since : '') & ' ORDER BY SystemModstamp ASC, Id ASC'`;
const salesforce = () =>
  fakeConfig({
    url: '${API_URL}/services/data/v59.0/query',
    headers: { Authorization: 'Bearer ${API_TOKEN}' },
    records: 'records',
    pagination: { style: 'next_url', next: 'nextRecordsUrl', sinceFormat: '%Y-%m-%dT%H:%M:%SZ' },
    request: { params: { q: SOQL } },
  });

const dst = useFakeApiTarget('http_templates', async () => {
  await api?.close();
  api = undefined;
});

async function backfillThenSync(key: string): Promise<void> {
  const a = api!;
  const full = await r.run({ runKey: `${key}/backfill` });
  expect(full).toMatchObject({ rows: RECORDS, done: true });
  expect(await expectExactCopy(dst.url, a.data)).toBe(RECORDS);
  const before = await rowVersions(dst.url);
  const m = a.data.mutate(150);
  await pause(5);
  const changed = [...m.updated, ...m.inserted].sort((x, y) => x - y);
  const sync = await r.run({ runKey: `${key}/sync`, mode: 'sync', after: full.cursor });
  expect(sync).toMatchObject({ rows: changed.length, done: true });
  expect(rewritten(before, await rowVersions(dst.url))).toEqual(changed);
  await expectExactCopy(dst.url, a.data);
}

describe('request templates (JSONata), end to end', () => {
  it('HubSpot-like POST search: the epoch-ms since filter, limit and after in the JSON body, limit capped at 200', async () => {
    api = await startHubspotFake(RECORDS, 51, TOKEN);
    config = hubspot();
    await backfillThenSync('hs');
    const first = api.log[0]!;
    expect(first.method).toBe('POST');
    expect(first.url.search).toBe(''); // every value went where the template put it
    expect(first.json).toMatchObject({ filterGroups: [], limit: 100, after: '0' });
    const last = api.log.at(-1)!.json as { filterGroups: { filters: { value: string }[] }[] };
    expect(last.filterGroups[0]!.filters[0]!.value).toMatch(/^\d{13}$/);
    expect(Math.max(...api.log.map((q) => (q.json as { limit: number }).limit))).toBeLessThanOrEqual(200);
  });

  it('a POST search whose credentials are refused names POST, not GET, in its error', async () => {
    api = await startHubspotFake(10, 52, 'a token the worker does not have');
    config = hubspot({ auth: { type: 'bearer', token: '${API_TOKEN}' } });
    const err = await r.run({ runKey: 'hs-401/backfill' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/crm\/v3\/objects\/orders\/search → 401 Unauthorized: /);
    expect(err).toMatchObject({ type: 'CredentialsRefusedError' });
  });

  it('Salesforce-like: the time filter inside the SOQL q parameter (a strftime pattern), nextRecordsUrl followed', async () => {
    api = await startSalesforceFake(RECORDS, 52, TOKEN);
    config = salesforce();
    await backfillThenSync('sf');
    const qs = api.log.map((q) => q.url.searchParams.get('q')).filter((q): q is string => q !== null);
    expect(qs[0]).toBe('SELECT Id, Number FROM Order ORDER BY SystemModstamp ASC, Id ASC');
    expect(qs.at(-1)).toMatch(/^SELECT Id, Number FROM Order WHERE SystemModstamp >= \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ORDER BY/);
    // The locator pages were read by their links, without a q parameter.
    expect(api.log.filter((q) => /\/query\/01g/.test(q.url.pathname) && !q.url.search).length).toBe(2); // 1200 records in batches of 500
  });

  it('Salesforce-like: a backfill resumed after its query locator expired reads the pass again from its since, with a warning', async () => {
    const sf = await startSalesforceFake(RECORDS, 53, TOKEN);
    api = sf;
    config = salesforce();
    const crash = new Error('worker died');
    await expect(r.run({ runKey: 'sf/stale' }, undefined, { afterBatch: async ({ pages }: { pages: number }) => { if (pages === 1) throw crash; } })).rejects.toBe(crash);
    const [cp] = await sql<{ cursor: { next: string } }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(cp!.cursor.next).toMatch(/\/query\/01gFAKE0-500$/);
    sf.expireLocators();
    const { MockActivityEnvironment } = await import('@temporalio/testing');
    const res = await r.run({ runKey: 'sf/stale' }, new MockActivityEnvironment({ attempt: 2 }));
    expect(res).toMatchObject({ done: true });
    await expectExactCopy(dst.url, sf.data);
    const refused = sf.log.map((q) => q.url.pathname.endsWith('/query/01gFAKE0-500')).lastIndexOf(true); // the resumed attempt's (the first attempt read ahead too)
    expect(sf.log[refused + 1]!.url.searchParams.get('q')).toBe('SELECT Id, Number FROM Order ORDER BY SystemModstamp ASC, Id ASC'); // the pass again, from its since (none: the start)
    const [run] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'sf/stale'`);
    expect(run!.warnings).toContainEqual(expect.stringContaining('the stored next link answered 400 (expired?): the pass was read again from its since (the start)'));
  });

  it('bad templates fail the config before anything runs, naming the field', () => {
    const bad = (source: Record<string, unknown>) => {
      try {
        parseConfig({ integrations: [{ id: 'x', source: { kind: 'http', url: 'https://api.example.com/x', columns: { id: 'bigint' }, ...source }, sink: { table: 't', key: ['id'] } }] });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad({ pagination: { style: 'time_window' }, request: { method: 'POST', body: '{ "after": $cursor }' } })).toContain(
      'integrations[0].source.request.body: references $cursor, which pagination style time_window does not provide: use $from, $to, $limit',
    );
    expect(bad({ pagination: { style: 'cursor' }, request: { params: { q: "'a' & " } } })).toContain('integrations[0].source.request.params.q: is not a valid JSONata expression');
    expect(bad({ pagination: { style: 'cursor' }, request: { body: '{ "after": $cursor }' } })).toContain('integrations[0].source.request.method: must be POST with a request.body');
    // A typo'd key is named (acceptance run), not only the shape.
    expect(bad({ pagination: { style: 'cursor' }, request: { parms: {} } })).toContain('integrations[0].source.request: unknown key "parms": must be { method?, params?, headers?, path?, body? }');
    expect(bad({ pagination: { style: 'cursor' }, responses: { rateLimted: [429] } })).toContain('integrations[0].source.responses: unknown key "rateLimted": must be { retry?, rateLimited?, wait?, skip?, errors?, authErrors? }');
    // A cap on offset + limit needs the field to go on after, and templates that filter on it.
    expect(bad({ pagination: { style: 'offset', maxOffset: 10_000 }, request: { method: 'POST', body: '{ "after": $offset, "gt": $anchor }' } })).toContain('integrations[0].source.pagination.anchorField: is required with maxOffset');
    expect(bad({ pagination: { style: 'offset', maxOffset: 10_000, anchorField: 'id' }, request: { method: 'POST', body: '{ "after": $offset }' } })).toContain('integrations[0].source.pagination.maxOffset: needs request templates that read $anchor');
    expect(bad({ pagination: { style: 'page' }, request: { params: { a: '$anchor' } } })).toContain('references $anchor, which pagination style page does not provide');
    // A key that parses but would be ignored is named: with templates the style's own parameters are not sent,
    // and an end flag is read instead of the more flag (acceptance: both were silently ignored).
    expect(bad({ pagination: { style: 'cursor', limitParam: 'per_page' }, request: { params: { after: '$cursor' } } })).toContain(
      'integrations[0].source.pagination.limitParam: is not sent with source.request (the templates decide every parameter): remove it and put $limit where the API takes it, e.g. request.params: { "per_page": "$limit" }',
    );
    expect(bad({ pagination: { style: 'offset', param: 'skip' }, request: { params: { q: "'x'" } } })).toContain('integrations[0].source.pagination.param: is not sent with source.request (the templates decide every parameter): remove it and put $offset where the API takes it, e.g. request.params: { "skip": "$offset" }');
    expect(bad({ pagination: { style: 'link_header', sinceParam: 'since' }, request: { params: { q: "'x'" } } })).toContain('integrations[0].source.pagination.sinceParam: is not sent with source.request');
    expect(bad({ pagination: { style: 'time_slices', inner: { style: 'cursor', param: 'after' } }, request: { params: { a: '$from' } } })).toContain('integrations[0].source.pagination.inner.param: is not sent with source.request');
    expect(bad({ pagination: { style: 'cursor' }, responses: { authErrors: ['token_revoked'] } })).toContain('integrations[0].source.responses.authErrors: needs responses.errors: the body path the API writes its error to (Slack: error)');
    expect(bad({ pagination: { style: 'cursor', endFlag: 'end_of_stream', hasMore: 'more' } })).toContain('integrations[0].source.pagination.hasMore: is not read with endFlag');
    expect(bad({ pagination: { style: 'feed', inner: { style: 'offset', endFlag: 'end', hasMore: 'more' } } })).toContain('integrations[0].source.pagination.inner.hasMore: is not read with endFlag');
    // Functions, bound names and lambda parameters are not variables of the style.
    expect(() => bad({ pagination: { style: 'offset' }, request: { params: { o: '($n := $number($offset); $string($n))', m: '$map([1], function($v) { $v + $limit })' } } })).toThrow('expected a ConfigError');
  });
});
