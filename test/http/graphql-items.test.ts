import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { exampleConfig } from './example-config';
import type { FakeApi } from './fakes/fake-server';
import { startGraphqlFake } from './fakes/graphql-fake';
import { expectExactCopy, runner, TABLE, TOKEN } from './helpers';

const RECORDS = 450;
let dst: TestDatabase;
let api: FakeApi | undefined;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, DST_URL: dst.url, GRAPHQL_TOKEN: TOKEN }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_graphql');
});
afterAll(async () => {
  await dst?.drop();
});
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

interface Sent {
  query: string;
  variables: { first?: number; after?: string };
}
const count = async () => Number((await sql<{ n: string }>(dst.url, `SELECT count(*)::text AS n FROM ${TABLE}`))[0]!.n);

describe('examples/graphql-items.yaml against a GraphQL API (Relay connection, errors as HTTP 200)', () => {
  it('POSTs { query, variables: { first, after } }: after is the last endCursor (absent at the start); a sync goes on from it and reads exactly the changes', async () => {
    api = await startGraphqlFake(RECORDS, 91, { token: TOKEN });
    config = exampleConfig('graphql-items', { ownColumns: true });
    const full = await r.run({ runKey: 'gql/backfill' });
    expect(full).toMatchObject({ rows: RECORDS, done: true });
    await expectExactCopy(dst.url, api.data);
    const backfill = api.log.length;
    expect(backfill).toBe(Math.ceil(RECORDS / 100)); // hasNextPage false ends the read: no extra request

    const m = api.data.mutate(50);
    const sync = await r.run({ runKey: 'gql/sync', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: m.updated.length + m.inserted.length, done: true });
    await expectExactCopy(dst.url, api.data);

    const sent = api.log.map((q) => q.json as Sent);
    expect(api.log.every((q) => q.method === 'POST' && q.url.pathname === '/graphql' && q.url.search === '')).toBe(true);
    expect(sent[0]!.variables).toEqual({ first: 100 });
    expect(sent[0]!.query).toMatch(/^query Items\(\$first: Int!, \$after: String\) \{ items\(first: \$first, after: \$after\)/);
    // Every later request goes on after a cursor the API gave, never the same one twice.
    const afters = sent.slice(1).map((b) => b.variables.after);
    for (const b of sent.slice(1)) expect(Object.keys(b.variables).sort()).toEqual(['after', 'first']);
    expect(afters.every((a) => typeof a === 'string' && a !== '')).toBe(true);
    expect(new Set(afters).size).toBe(afters.length);
    expect(sent[backfill]!.variables.after).toBe((full.cursor as { token: string }).token);
  });

  it('a GraphQL error (HTTP 200, errors, data.items null) is not an empty page: the run fails loudly, keeps the pages before, and a resume finishes exactly', async () => {
    api = await startGraphqlFake(RECORDS, 92, { token: TOKEN, failRequest: 3 });
    config = exampleConfig('graphql-items', { ownColumns: true });
    const err = await r.run({ runKey: 'gql/err' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, type: 'HttpSourceError', message: expect.stringContaining('source.responses.errors: the API answered with errors: [{"message":"Internal error while resolving') });
    expect((err as Error).message).toMatch(/\(POST http:\/\/127\.0\.0\.1:\d+\/graphql\)$/); // the request's own method
    expect(await count()).toBe(200); // the two pages before the error, nothing lost
    const resumed = await r.run({ runKey: 'gql/resume', mode: 'resume' });
    expect(resumed.done).toBe(true);
    await expectExactCopy(dst.url, api.data);
  });

  it('a partial result (a page with errors beside it) fails loudly too: none of that page is written', async () => {
    api = await startGraphqlFake(RECORDS, 94, { token: TOKEN, partialErrorRequest: 2 });
    config = exampleConfig('graphql-items', { ownColumns: true });
    const err = await r.run({ runKey: 'gql/partial' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, type: 'HttpSourceError', message: expect.stringContaining('Cannot resolve \\"title\\" for 3 items') });
    expect(await count()).toBe(100); // the first page only
  });

  it('a query the API rejects (validation error, no data at all) fails the run at once, before anything is written', async () => {
    api = await startGraphqlFake(RECORDS, 93, { token: TOKEN });
    const good = exampleConfig('graphql-items', { ownColumns: true }).integrations[0]!.source as { request: { body: string } };
    config = exampleConfig('graphql-items', { ownColumns: true, source: { request: { method: 'POST', body: good.request.body.replace('node { id ', 'node { id colour ') } } });
    const err = await r.run({ runKey: 'gql/invalid' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, type: 'HttpSourceError', message: expect.stringContaining('Cannot query field \\"colour\\" on type \\"Item\\"') });
    expect(api.log).toHaveLength(1);
    expect(await count().catch(() => 0)).toBe(0);
  });
});
