import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { judge, waitOf } from '../../src/sources/http/response-policy';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { fakeConfig } from './fakes/fake-config';
import type { FakeApi } from './fakes/fake-server';
import { startGithubFake } from './fakes/github-fake';
import { expectExactCopy, runner, TOKEN } from './helpers';

/** The parsed `responses` of a source with these settings. */
function policy(responses?: Record<string, unknown>): HttpSourceConfig['responses'] {
  const cfg = parseConfig({ integrations: [{ id: 'x', source: { kind: 'http', url: 'https://api.example.com/x', pagination: { style: 'cursor' }, columns: { id: 'bigint' }, ...(responses ? { responses } : {}) }, sink: { table: 't', key: ['id'] } }] });
  return (cfg.integrations[0]!.source as HttpSourceConfig).responses;
}
const h = (o: Record<string, string>) => new Headers(o);

describe('response policy: what each status means', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');

  it('defaults: 5xx and 429 retry, GitHub 403 + x-ratelimit-remaining: 0 or + Retry-After is a rate limit, a plain 403 or 404 fails', () => {
    const p = policy();
    expect(judge(p, 503, h({}), now)).toEqual({ kind: 'retry', waitMs: undefined });
    expect(judge(p, 501, h({}), now)).toEqual({ kind: 'fail' });
    expect(judge(p, 429, h({ 'retry-after': '3' }), now)).toEqual({ kind: 'rate_limited', waitMs: 3000 });
    expect(judge(p, 403, h({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 42) }), now)).toEqual({ kind: 'rate_limited', waitMs: 42_000 });
    expect(judge(p, 403, h({ 'x-ratelimit-remaining': '12' }), now)).toEqual({ kind: 'fail' });
    // GitHub's secondary rate limit: 403 with Retry-After while the primary budget is left (acceptance run).
    expect(judge(p, 403, h({ 'retry-after': '3', 'x-ratelimit-remaining': '4990' }), now)).toEqual({ kind: 'rate_limited', waitMs: 3000 });
    // A configured rule with a header and no equals: the header's presence is enough.
    expect(judge(policy({ rateLimited: [{ status: 420, header: 'x-wait' }] }), 420, h({ 'x-wait': '' }), now)).toEqual({ kind: 'fail' });
    expect(judge(policy({ rateLimited: [{ status: 420, header: 'x-wait' }] }), 420, h({ 'x-wait': '1', 'retry-after': '2' }), now)).toEqual({ kind: 'rate_limited', waitMs: 2000 });
    expect(judge(p, 403, h({}), now)).toEqual({ kind: 'fail' });
    expect(judge(p, 404, h({}), now)).toEqual({ kind: 'fail' });
  });

  it('wait headers: Retry-After (seconds or date), x-ratelimit-reset as epoch seconds, RateLimit-Reset as seconds; first present wins', () => {
    const p = policy();
    expect(waitOf(p, h({ 'retry-after': 'Mon, 01 Jan 2024 00:00:05 GMT' }), now)).toBe(5000);
    expect(waitOf(p, h({ 'ratelimit-reset': '7' }), now)).toBe(7000);
    expect(waitOf(p, h({ 'retry-after': '1', 'ratelimit-reset': '7' }), now)).toBe(1000);
    expect(waitOf(p, h({ 'x-ratelimit-reset': String(now / 1000 - 5) }), now)).toBe(0); // a reset already passed: go now
    expect(waitOf(p, h({ 'x-ratelimit-reset': 'soon' }), now)).toBeUndefined();
    expect(waitOf(p, h({}), now)).toBeUndefined();
    expect(waitOf(policy({ wait: [{ header: 'X-Reset-Ms', format: 'epoch_ms' }] }), h({ 'x-reset-ms': String(now + 250) }), now)).toBe(250);
  });

  it('configured: retry, rate-limit and skip lists replace the defaults', () => {
    const p = policy({ retry: [500, 520], rateLimited: [420, { status: 403, header: 'x-shopify-shop-api-call-limit', equals: '40/40' }], skip: [404, 410] });
    expect(judge(p, 520, h({}), now).kind).toBe('retry');
    expect(judge(p, 503, h({}), now).kind).toBe('fail'); // not in the configured list
    expect(judge(p, 420, h({}), now).kind).toBe('rate_limited');
    expect(judge(p, 429, h({}), now).kind).toBe('fail');
    expect(judge(p, 403, h({ 'x-shopify-shop-api-call-limit': '40/40' }), now).kind).toBe('rate_limited');
    expect(judge(p, 410, h({}), now)).toEqual({ kind: 'skip' });
  });
});

const RECORDS = 600;
let dst: TestDatabase;
let api: (FakeApi & { rateLimited: () => number }) | undefined;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

describe('response policy end to end (GitHub-like fake)', () => {
  beforeAll(async () => {
    dst = await createTestDatabase('http_policy');
  });
  afterAll(async () => {
    await dst?.drop();
  });
  beforeEach(async () => {
    await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  const github = (extra: Record<string, unknown> = {}) =>
    fakeConfig({
      url: '${API_URL}/repos/acme/shop/issues',
      headers: { Authorization: 'Bearer ${API_TOKEN}' },
      params: { state: 'all', sort: 'updated', direction: 'asc' },
      records: '.',
      pagination: { style: 'link_header', limitParam: 'per_page', maxPageSize: 100, sinceParam: 'since' },
      ...extra,
    });

  it("GitHub's 403 rate-limit form waits until x-ratelimit-reset, then the backfill completes exactly", async () => {
    api = await startGithubFake(RECORDS, 31, { token: TOKEN, rateLimitEvery: 4 });
    config = github();
    const res = await r.run({ runKey: 'gh/limited' });
    expect(res).toMatchObject({ rows: RECORDS, done: true });
    await expectExactCopy(dst.url, api.data);
    expect(api.rateLimited()).toBeGreaterThanOrEqual(1);
    // Each request after a refusal came no earlier than the reset the refusal named (whole seconds).
    const log = api.log;
    for (let i = 3; i < log.length - 1; i += 4) {
      const refusedAt = log[i]!.at;
      const reset = Math.ceil(refusedAt / 1000) + 1;
      expect(log[i + 1]!.at).toBeGreaterThanOrEqual(reset * 1000 - 5);
    }
    // Not silent: the run's row says how often the API refused and how long the run waited (`runs`, `status`).
    const [run] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'gh/limited'`);
    const limited = api.rateLimited();
    expect(run!.warnings).toEqual([expect.stringMatching(new RegExp(`^the API: ${limited} of ${log.length} requests retried \\(${limited} rate limited\\), \\d+\\.\\d s spent waiting$`))]);
  });

  it('a status in skip reads as an empty page: a list that does not exist yet syncs nothing, without failing', async () => {
    api = await startGithubFake(RECORDS, 32, { token: TOKEN });
    config = github({ url: '${API_URL}/repos/acme/missing/pulls', responses: { skip: [404] } });
    const res = await r.run({ runKey: 'gh/skip' });
    expect(res).toMatchObject({ rows: 0, done: true });
    expect(await sql(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'gh/skip'`)).toEqual([{ warnings: ['the API: 0 of 1 requests retried (0 rate limited), 0.0 s spent waiting; 1 answers skipped by source.responses.skip'] }]);
    config = github({ url: '${API_URL}/repos/acme/missing/pulls' });
    await expect(r.run({ runKey: 'gh/no-skip' })).rejects.toMatchObject({ type: 'HttpStatusError', nonRetryable: true });
  });
});
