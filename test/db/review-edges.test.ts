import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput } from '../../src/activities';
import { parseConfig, type PostgresSourceConfig } from '../../src/config';
import { connect } from '../../src/pg/connect';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { describeTable } from '../../src/sources/postgres/describe-table';
import { PostgresSource } from '../../src/sources/postgres/postgres-source';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { verifyIntegration } from '../../src/verify';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// Cases a review of this round's fixes found: a letter whose key does not even cast, verify on a target with
// inheritance children, a key whose = is looser than its text, and a range estimate the statistics got wrong.
let src: TestDatabase;
let dst: TestDatabase;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('rvw_src'), createTestDatabase('rvw_dst')]);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('review edges', () => {
  it('dead-letters --retry with a still-failing letter whose key does not cast to the target key: a report, not an error', async () => {
    await sql(src.url, `CREATE TABLE public.items (id text PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
      INSERT INTO public.items VALUES ('1', 'a', '2024-01-01'), ('abc', 'b', '2024-01-02'), ('3', 'c', '2024-01-03')`);
    await sql(dst.url, `CREATE TABLE public.items (id bigint PRIMARY KEY, v text, updated_at timestamptz NOT NULL)`);
    const config = parseConfig({
      integrations: [
        {
          id: 'items',
          source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.items', cursor: ['updated_at', 'id'], lag: '0s' },
          sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.items', key: ['id'] },
          validate: { id: { pattern: '^[0-9]+$' } },
        },
      ],
    });
    await new MockActivityEnvironment().run(createActivities({ config: () => config, env: vars() }).runIntegration, { integration: 'items', mode: 'backfill', runKey: 'rv/1' } as RunInput);
    const r = await retryDeadLetters(config.integrations[0]!, vars());
    expect(r).toMatchObject({ pending: 1, superseded: 0, stillFailing: [{ reason: expect.stringMatching(/id/) }] });
  });

  it('verify refuses a target with inheritance children (their rows would count, and --delete delete them)', async () => {
    await sql(src.url, `CREATE TABLE public.p (id int PRIMARY KEY, v text); INSERT INTO public.p SELECT g, 'x' FROM generate_series(1, 10) g`);
    await sql(dst.url, `CREATE TABLE public.p (id int PRIMARY KEY, v text); INSERT INTO public.p SELECT g, 'x' FROM generate_series(1, 10) g;
      CREATE TABLE public.p_child (extra text) INHERITS (public.p); INSERT INTO public.p_child VALUES (100, 'child row', 'e')`);
    const config = parseConfig({ integrations: [{ id: 'p', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.p', cursor: ['id'] }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.p', key: ['id'] } }] });
    await expect(verifyIntegration(config.integrations[0]!, { delete: true, force: true, env: vars() })).rejects.toThrow(/has inheritance children \(INHERITS\)/);
    expect(await sql(dst.url, 'SELECT count(*)::int AS n FROM ONLY public.p_child')).toEqual([{ n: 1 }]);
  });

  it('a key whose = is looser than its text (numeric: 1.0 = 1.00) keeps the staged upsert: no replacing, no text comparison', async () => {
    await sql(dst.url, `CREATE TABLE public.amounts (id numeric PRIMARY KEY, v text)`);
    const client = await connect(dst.url);
    try {
      const sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: 'public.amounts', key: ['id'] } as never);
      await sink.prepare((await describeTable(client, { schema: 'public', name: 'amounts' }, 'sink'))!.columns, { keyUniqueInPage: true });
      expect(sink.replaceBlocker).toMatch(/compares loosely/);
    } finally {
      await client.end();
    }
  });

  it('unique indexes: INCLUDE columns are not keys, and a DEFERRABLE constraint cannot serve ON CONFLICT', async () => {
    await sql(dst.url, `CREATE TABLE public.incl (id int, v text, updated_at timestamptz, CONSTRAINT incl_u UNIQUE (id) INCLUDE (v));
      CREATE TABLE public.deferred (id int, v text, CONSTRAINT deferred_u UNIQUE (id) DEFERRABLE)`);
    const client = await connect(dst.url);
    const prepare = async (table: string, key: string[]) => {
      const sink = new PostgresSink(client, { kind: 'postgres', url: dst.url, table: `public.${table}`, key } as never);
      await sink.prepare((await describeTable(client, { schema: 'public', name: table }, 'sink'))!.columns, { keyUniqueInPage: true });
      return sink;
    };
    try {
      // The INCLUDE index is a key on (id) alone: it serves the upsert, and is no other unique index beside it.
      expect((await prepare('incl', ['id'])).replaceBlocker).toBeUndefined();
      // (id, v) matched its columns before: ON CONFLICT (id, v) then failed at the first page.
      await expect(prepare('incl', ['id', 'v'])).rejects.toThrow(/public\.incl has no primary key or unique index on \(id, v\), which the upsert needs; it has one on \(id\), which makes these unique too: set sink\.key to \[id\]/);
      const deferred = "public.deferred's unique constraint deferred_u on (id) is DEFERRABLE, which the upsert (ON CONFLICT) cannot use, even beside another unique index on the same columns: ";
      await expect(prepare('deferred', ['id'])).rejects.toThrow(`${deferred}recreate it NOT DEFERRABLE (ALTER TABLE public.deferred DROP CONSTRAINT deferred_u, ADD CONSTRAINT deferred_u UNIQUE (id))`);
      // ON CONFLICT refuses it even beside a plain unique index (an acceptance run: accepted, then every page failed).
      await sql(dst.url, 'CREATE UNIQUE INDEX deferred_plain ON public.deferred (id)');
      await expect(prepare('deferred', ['id'])).rejects.toThrow(`${deferred}drop it (ALTER TABLE public.deferred DROP CONSTRAINT deferred_u): the other unique index on (id) serves the upsert`);
      await expect(sql(dst.url, 'INSERT INTO public.deferred VALUES (1) ON CONFLICT (id) DO NOTHING')).rejects.toThrow(/ON CONFLICT does not support deferrable unique constraints/);
      // Both fixes the messages give work.
      await sql(dst.url, 'ALTER TABLE public.deferred DROP CONSTRAINT deferred_u');
      expect((await prepare('deferred', ['id'])).replaceBlocker).toBeUndefined();
      await sql(dst.url, `CREATE TABLE public.deferred2 (id int, CONSTRAINT deferred2_pk PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED)`);
      await expect(prepare('deferred2', ['id'])).rejects.toThrow('ADD CONSTRAINT deferred2_pk PRIMARY KEY (id))');
      await sql(dst.url, 'ALTER TABLE public.deferred2 DROP CONSTRAINT deferred2_pk, ADD CONSTRAINT deferred2_pk PRIMARY KEY (id)');
      await prepare('deferred2', ['id']);
      // A partitioned target: its unique indexes include the partition key, so the key must too.
      await sql(dst.url, `CREATE TABLE public.parted (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at); CREATE TABLE public.parted_all PARTITION OF public.parted FOR VALUES FROM ('2000-01-01') TO ('2100-01-01')`);
      await expect(prepare('parted', ['id'])).rejects.toThrow('public.parted has no primary key or unique index on (id), which the upsert needs; a unique index of a partitioned table must include its partition key (at): set sink.key to [id, at]');
      await prepare('parted', ['id', 'at']);
      // A partial index on the key: named, and why it does not count.
      await sql(dst.url, `CREATE TABLE public.partial (id int, v text); CREATE UNIQUE INDEX partial_u ON public.partial (id) WHERE v IS NOT NULL`);
      await expect(prepare('partial', ['id'])).rejects.toThrow('public.partial has no primary key or unique index on (id), which the upsert needs (partial_u is partial: it is unique only among the rows its WHERE selects): CREATE UNIQUE INDEX ON public.partial (id)');
    } finally {
      await client.end();
    }
    await sql(src.url, `CREATE TABLE public.incl (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
      INSERT INTO public.incl SELECT g, 'v' || g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 30) g`);
    const config = parseConfig({
      integrations: [{ id: 'incl', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.incl', cursor: ['updated_at', 'id'], columns: ['id', 'v', 'updated_at'], lag: '0s' }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.incl', key: ['id'] } }],
    });
    await new MockActivityEnvironment().run(createActivities({ config: () => config, env: vars() }).runIntegration, { integration: 'incl', mode: 'backfill', runKey: 'incl/1' } as RunInput);
    expect(await sql(dst.url, `SELECT count(*)::int AS n, count(*) FILTER (WHERE v = 'v' || id)::int AS same FROM public.incl`)).toEqual([{ n: 30, same: 30 }]);
    // A source's keyset rests on committed rows: a DEFERRABLE constraint keeps them unique, and INCLUDE columns are not part of it.
    await sql(src.url, `CREATE TABLE public.seqd (seq bigint NOT NULL, v text, CONSTRAINT seqd_u UNIQUE (seq) INCLUDE (v) DEFERRABLE)`);
    const cfg = parseConfig({ integrations: [{ id: 's', source: { kind: 'postgres', url: src.url, table: 'public.seqd', cursor: ['seq'] }, sink: { url: dst.url, table: 't', key: ['seq'] } }] });
    const source = new PostgresSource(await connect(src.url), cfg.integrations[0]!.source as PostgresSourceConfig);
    try {
      await expect(source.prepare({})).resolves.toMatchObject({ uniqueKeys: [['seq']] });
    } finally {
      await source.close();
    }
  });

  it('rows appended after ANALYZE past its histogram: the estimate comes from a sample, not the exact count\'s cap', async () => {
    await sql(src.url, `CREATE TABLE public.grown (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL) WITH (autovacuum_enabled = false);
      CREATE INDEX ON public.grown (updated_at, id);
      INSERT INTO public.grown SELECT g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 50000) g; ANALYZE public.grown;
      INSERT INTO public.grown SELECT g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(50001, 250000) g`);
    const cfg = parseConfig({ integrations: [{ id: 'g', source: { kind: 'postgres', url: src.url, table: 'public.grown', cursor: ['updated_at', 'id'] }, sink: { url: dst.url, table: 't', key: ['id'] } }] });
    const source = new PostgresSource(await connect(src.url), cfg.integrations[0]!.source as PostgresSourceConfig);
    try {
      await source.prepare({});
      const [at] = await sql<{ ts: string }>(src.url, `SELECT updated_at::text AS ts FROM public.grown WHERE id = 50000`);
      const left = (await source.estimateRemaining([at!.ts, '50000'])) ?? 0;
      expect(left).toBeGreaterThan(150_000); // 200,000 left; the count stops at 100,001
      expect(left).toBeLessThan(260_000);
    } finally {
      await source.close();
    }
  });
});
