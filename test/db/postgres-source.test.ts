import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type PostgresSourceConfig } from '../../src/config';
import { connect } from '../../src/pg/connect';
import { PostgresSource, SourceSetupError } from '../../src/sources/postgres/postgres-source';
import { TableNotFoundError } from '../../src/sources/postgres/describe-table';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { isPermanent } from '../../src/errors';
import { seedOrders, sql } from '../helpers/fixtures';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('source');
});
afterAll(async () => {
  await db?.drop();
});

async function source(table: string, cursor: string[], extra: Record<string, unknown> = {}) {
  const cfg = parseConfig({ integrations: [{ id: 'x', source: { kind: 'postgres', url: db.url, table, cursor, ...extra }, sink: { table: 't', key: ['id'] } }] });
  return new PostgresSource(await connect(db.url), cfg.integrations[0]!.source as PostgresSourceConfig);
}

async function readAll(s: PostgresSource, after: unknown, limit: number) {
  const ids: string[] = [];
  let pages = 0;
  for await (const p of s.pages(after as null, { limit })) {
    pages++;
    for (const r of p.rows) ids.push(r[0] as string);
  }
  return { ids, pages };
}

describe('PostgreSQL source', () => {
  it('reads 10,000 rows sharing one updated_at across many pages: none missed, none repeated', async () => {
    await seedOrders(db.url, { rows: 10_000, table: 'public.same_ts', perTimestamp: 1_000_000 });
    const [one] = await sql(db.url, 'SELECT count(DISTINCT updated_at)::text AS n FROM public.same_ts');
    expect(one!.n).toBe('1');
    const s = await source('public.same_ts', ['updated_at', 'id']);
    await s.prepare({});
    const { ids, pages } = await readAll(s, null, 777);
    expect(pages).toBe(Math.ceil(10_000 / 777));
    expect(ids.length).toBe(10_000);
    expect(new Set(ids).size).toBe(10_000);
    expect(ids.map(Number)).toEqual([...Array(10_000).keys()].map((i) => i + 1));
    await s.close();
  });

  it('keeps timestamps exact to the microsecond and resumes strictly after the cursor', async () => {
    await sql(db.url, `CREATE TABLE public.micro (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
      INSERT INTO public.micro VALUES (1, '2024-01-01 00:00:00.000001+00'), (2, '2024-01-01 00:00:00.000002+00'), (3, '2024-01-01 00:00:00.000002+00'), (4, '2024-01-01 00:00:00.000003+00')`);
    const s = await source('public.micro', ['updated_at', 'id']);
    await s.prepare({});
    const first = s.pages(null, { limit: 2 });
    const p1 = (await first.next()).value!;
    expect(p1.cursor).toEqual(['2024-01-01 00:00:00.000002+00', '2']);
    const rest = await readAll(s, p1.cursor, 2);
    expect(rest.ids).toEqual(['3', '4']);
    await s.close();
  });

  it('the upper bound now() - lag leaves recent rows for the next run', async () => {
    await sql(db.url, `CREATE TABLE public.recent (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
      INSERT INTO public.recent VALUES (1, now() - interval '1 hour'), (2, now() - interval '10 seconds'), (3, now())`);
    const s = await source('public.recent', ['updated_at', 'id'], { lag: '1m' });
    const plan = await s.prepare({});
    expect(plan.highWater).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect((await readAll(s, null, 10)).ids).toEqual(['1']);
    expect(await s.estimateRemaining(null)).toBe(1);
    await s.close();
  });

  it('compares cursors in the source types (later)', async () => {
    const s = await source('public.micro', ['updated_at', 'id']);
    await s.prepare({});
    const a = ['2024-01-01 00:00:00.000002+00', '10'];
    const b = ['2024-01-01 00:00:00.00001+00', '1'];
    expect(await s.later(a, b)).toEqual(b);
    expect(await s.later(b, a)).toEqual(b);
    expect(await s.later(['2024-01-01 00:00:00.000002+00', '11'], a)).toEqual(['2024-01-01 00:00:00.000002+00', '11']);
    expect(await s.later(null, a)).toEqual(a);
    await s.close();
  });

  it('refuses cursor columns with NULLs, non-unique keysets, missing columns and lag on a non-timestamp', async () => {
    await sql(db.url, `CREATE TABLE public.nully (id int PRIMARY KEY, updated_at timestamptz); INSERT INTO public.nully VALUES (1, now()), (2, NULL)`);
    await expect((await source('public.nully', ['updated_at', 'id'])).prepare({})).rejects.toThrow(/cursor column "updated_at" is NULL/);
    await expect((await source('public.micro', ['updated_at'])).prepare({})).rejects.toThrow(/\[updated_at\] is not unique/);
    await expect((await source('public.micro', ['updated_at', 'nope'])).prepare({})).rejects.toThrow(SourceSetupError);
    await expect((await source('public.micro', ['id'], { lag: '5s' })).prepare({})).rejects.toThrow(/source.lag: needs a timestamp/);
    await expect((await source('public.absent', ['id'])).prepare({})).rejects.toThrow(TableNotFoundError);
  });

  it('an invalid unique index (a failed CREATE UNIQUE INDEX CONCURRENTLY) proves nothing; a table with INHERITS children is read with a warning (acceptance run)', async () => {
    await sql(db.url, `CREATE TABLE public.dupes (id int PRIMARY KEY, updated_at timestamptz NOT NULL, grp int NOT NULL);
      INSERT INTO public.dupes SELECT g, '2024-01-01'::timestamptz + (g % 3) * interval '1 s', g % 2 FROM generate_series(1, 30) g`);
    await expect(sql(db.url, 'CREATE UNIQUE INDEX CONCURRENTLY dupes_u ON public.dupes (updated_at, grp)')).rejects.toThrow(/could not create unique index/);
    const [left] = await sql(db.url, `SELECT indisvalid::text AS valid FROM pg_index WHERE indexrelid = 'public.dupes_u'::regclass`);
    expect(left).toEqual({ valid: 'false' }); // left behind, invalid
    await expect((await source('public.dupes', ['updated_at', 'grp'])).prepare({})).rejects.toThrow(
      /\[updated_at, grp\] is not unique in public\.dupes: no valid unique index or primary key has only these columns \(partial, expression and invalid indexes prove nothing; a view has none\)\. End it with a unique column backed by/,
    );
    await sql(db.url, `CREATE TABLE public.inh_parent (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL); CREATE TABLE public.inh_child () INHERITS (public.inh_parent);
      INSERT INTO public.inh_parent VALUES (1, now()); INSERT INTO public.inh_child VALUES (1, now())`);
    // A parent with INHERITS children: read (TimescaleDB hypertables are such tables), with a warning; a key the
    // children repeat then fails its page for good (21000), not retried forever (review, acceptance run).
    const inh = await source('public.inh_parent', ['updated_at', 'id']);
    const plan = await inh.prepare({});
    await inh.close();
    expect(plan.warnings).toContainEqual(expect.stringMatching(/^public\.inh_parent has child tables \(INHERITS: inh_child\): reading it reads theirs too/));
    expect(isPermanent(Object.assign(new Error('ON CONFLICT DO UPDATE command cannot affect row a second time'), { code: '21000' }))).toBe(true);
    // A partitioned table's partitions are covered by its unique indexes: read as ever.
    await sql(db.url, `CREATE TABLE public.parted (id bigint, updated_at timestamptz NOT NULL, PRIMARY KEY (id)) PARTITION BY RANGE (id);
      CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES FROM (0) TO (100); INSERT INTO public.parted VALUES (1, now())`);
    const parted = await source('public.parted', ['updated_at', 'id']);
    await parted.prepare({});
    expect((await readAll(parted, null, 10)).ids).toEqual(['1']);
    await parted.close();
  });

  it('warns with the CREATE INDEX to run when no index serves the keyset order, and not once one does', async () => {
    await sql(db.url, `CREATE TABLE public.noidx (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, "order" int NOT NULL);
      INSERT INTO public.noidx SELECT g, now() - g * interval '1 minute', g FROM generate_series(1, 500) g`);
    const s = await source('public.noidx', ['updated_at', 'id']);
    const plan = await s.prepare({});
    await s.close();
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings![0]).toMatch(/no index on public\.noidx serves the keyset order \(updated_at, id\).*CREATE INDEX CONCURRENTLY ON public\.noidx \(updated_at, id\)$/);
    // Identifiers are quoted where SQL needs it.
    const quoted = await source('public.noidx', ['order', 'id']);
    expect((await quoted.prepare({})).warnings?.[0]).toMatch(/CREATE INDEX CONCURRENTLY ON public\.noidx \("order", id\)$/);
    await quoted.close();
    // The primary key serves a keyset of [id].
    const byId = await source('public.noidx', ['id']);
    expect((await byId.prepare({})).warnings).toBeUndefined();
    await byId.close();
    await sql(db.url, 'CREATE INDEX ON public.noidx (updated_at, id)');
    const indexed = await source('public.noidx', ['updated_at', 'id']);
    expect((await indexed.prepare({})).warnings).toBeUndefined();
    await indexed.close();
  });

  it('a timestamp without time zone cursor, with or without precision, needs source.timeZone', async () => {
    await sql(db.url, `CREATE TABLE public.naive3 (id int PRIMARY KEY, updated_at timestamp(3) NOT NULL)`);
    const s = await source('public.naive3', ['updated_at', 'id']);
    await expect(s.prepare({})).rejects.toThrow(/source\.timeZone: is required/);
    await s.close();
    const ok = await source('public.naive3', ['updated_at', 'id'], { timeZone: 'Europe/Berlin', lag: '2s' });
    expect((await ok.prepare({})).highWater).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/);
    await ok.close();
  });
});
