import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type PostgresSourceConfig } from '../../src/config';
import { connect } from '../../src/pg/connect';
import { firstColumnRange, keysetRange, type SqlQuery } from '../../src/cursor/keyset-sql';
import { checkNoNulls } from '../../src/sources/postgres/null-check';
import { estimateRows } from '../../src/sources/postgres/estimate-rows';
import { PostgresSource, SourceSetupError } from '../../src/sources/postgres/postgres-source';
import { sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, type TestDatabase } from '../setup/database';

const ROWS = 250_000;
let db: TestDatabase;

/**
 * `big` is never analyzed (reltuples = -1, autovacuum off) and its keys are skewed: the first 80,000
 * rows share a few timestamps, the rest are spread over a year. updated_at is nullable (no NULLs) and
 * indexed with id, as the keyset index would be.
 */
beforeAll(async () => {
  db = await createTestDatabase('estimates');
  await sql(
    db.url,
    `CREATE TABLE public.big (id bigint PRIMARY KEY, updated_at timestamptz, note text) WITH (autovacuum_enabled = false);
     CREATE INDEX ON public.big (updated_at, id);
     INSERT INTO public.big
     SELECT g, CASE WHEN g <= 80000 THEN '2024-01-01'::timestamptz + (g / 20000) * interval '1 second'
                    ELSE '2024-02-01'::timestamptz + g * interval '2 minutes' END, md5(g::text)
       FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE public.unindexed (id bigint PRIMARY KEY, updated_at timestamptz) WITH (autovacuum_enabled = false);
     INSERT INTO public.unindexed SELECT g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 100000) g;`,
  );
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

async function source(table: string, cursor: string[]): Promise<PostgresSource> {
  const cfg = parseConfig({ integrations: [{ id: 'x', source: { kind: 'postgres', url: db.url, table, cursor }, sink: { table: 't', key: ['id'] } }] });
  return new PostgresSource(await connect(db.url), cfg.integrations[0]!.source as PostgresSourceConfig);
}

/** Tuples the table handed to scans so far (sequential, sample and index fetches), from the cumulative statistics. */
async function tuplesRead(table: string): Promise<number> {
  await sleep(300); // a closed session's counters are flushed as its backend exits
  const [r] = await sql<{ n: string }>(
    db.url,
    `SELECT (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text AS n FROM pg_stat_user_tables WHERE relname = $1::text`,
    [table],
  );
  return Number(r?.n);
}

describe('start-up on a large table without statistics', () => {
  it('estimates a never-analyzed table from a block sample, without counting it (and checks NULLs by index)', async () => {
    const [stats] = await sql<{ reltuples: string }>(db.url, `SELECT reltuples::text FROM pg_class WHERE oid = 'public.big'::regclass`);
    expect(stats!.reltuples).toBe('-1');
    const before = await tuplesRead('big');
    const s = await source('public.big', ['updated_at', 'id']);
    const plan = await s.prepare({});
    expect(plan.warnings).toBeUndefined();
    const estimate = await s.estimateRemaining(null);
    await s.close();
    const read = (await tuplesRead('big')) - before;
    // The old start-up counted the whole table (and may have scanned it for NULLs): 250,000+ tuples.
    expect(read).toBeLessThan(ROWS / 4);
    expect(estimate).toBeGreaterThan(ROWS * 0.6);
    expect(estimate).toBeLessThan(ROWS * 1.4);
  });

  it('cuts shards from a sample across the whole table: each within 30 % of the mean, though the keys are skewed past the first 80k', async () => {
    const before = await tuplesRead('big');
    const s = await source('public.big', ['updated_at', 'id']);
    await s.prepare({});
    const bounds = (await s.split(null, 4)) as string[][];
    await s.close();
    // A quarter of the pages (the table is written in key order: a page's rows are neighbours, worth about one
    // key between them), not the 8 % a sample sized by rows alone reads, nor the whole table.
    const read = (await tuplesRead('big')) - before;
    expect(read).toBeLessThan(ROWS / 2);
    expect(read).toBeGreaterThan(ROWS / 5);
    expect(bounds).toHaveLength(3);
    const counts: number[] = [];
    let lower: string[] | null = null;
    for (const upper of [...bounds, null]) {
      const where: string[] = [];
      const values: string[] = [];
      if (lower) where.push(`(updated_at, id) > ($${values.push(lower[0]!)}::timestamptz, $${values.push(lower[1]!)}::bigint)`);
      if (upper) where.push(`(updated_at, id) <= ($${values.push(upper[0]!)}::timestamptz, $${values.push(upper[1]!)}::bigint)`);
      const [r] = await sql<{ n: string }>(db.url, `SELECT count(*)::text AS n FROM public.big WHERE ${where.join(' AND ')}`, values);
      counts.push(Number(r!.n));
      lower = upper;
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ROWS);
    const mean = ROWS / 4;
    for (const n of counts) {
      expect(n).toBeGreaterThan(mean * 0.7);
      expect(n).toBeLessThan(mean * 1.3);
    }
  });

  it('without an index on a nullable cursor column, the NULL probe is bounded: too slow fails naming the fix, a lock is retryable', async () => {
    const client = await connect(db.url);
    try {
      // 1 ms is far shorter than scanning 100,000 rows, so the probe cannot prove there are no NULLs.
      const slow = await checkNoNulls(client, { schema: 'public', name: 'unindexed' }, 'updated_at', 1).catch((e: unknown) => e);
      expect(slow).toBeInstanceOf(SourceSetupError);
      expect(String(slow)).toMatch(/no index leads with it.*CREATE INDEX CONCURRENTLY ON public\.unindexed \(updated_at, \.\.\.\).*NOT NULL/);
      await expect(checkNoNulls(client, { schema: 'public', name: 'unindexed' }, 'updated_at', 10_000)).resolves.toBeUndefined();
      const locker = await connect(db.url);
      try {
        await locker.query('BEGIN; LOCK TABLE public.unindexed IN ACCESS EXCLUSIVE MODE');
        const locked = await checkNoNulls(client, { schema: 'public', name: 'unindexed' }, 'updated_at', 1_000).catch((e: unknown) => e);
        expect(locked).not.toBeInstanceOf(SourceSetupError);
        expect((locked as { code?: string }).code).toBe('55P03'); // lock_not_available: retryable
      } finally {
        await locker.end();
      }
    } finally {
      await client.end();
    }
  });

  it('with statistics: scaled to the current size, a small range counted exactly; partitioned tables summed over partitions', async () => {
    await sql(db.url, 'ANALYZE public.big');
    const s = await source('public.big', ['updated_at', 'id']);
    await s.prepare({});
    const all = await s.estimateRemaining(null);
    expect(all).toBeGreaterThan(ROWS * 0.9);
    expect(all).toBeLessThan(ROWS * 1.1);
    const [mid] = await sql<{ ts: string }>(db.url, `SELECT updated_at::text AS ts FROM public.big WHERE id = 200000`);
    expect(await s.estimateRemaining([mid!.ts, '200000'])).toBe(ROWS - 200_000);
    // A shard's range, bounded at both ends by row comparisons: the planner multiplies their selectivities as if
    // independent (for the range of ids 150,000..200,000 about 0.4 × 0.8 of the table, not 0.2: 4 shards' totals were
    // 25 % too high); estimated on the first cursor column, it is read from that column's histogram.
    const [lo, hi] = await sql<{ ts: string; id: string }>(db.url, `SELECT updated_at::text AS ts, id::text FROM public.big WHERE id IN (150000, 200000) ORDER BY id`);
    const keyset = [{ name: 'updated_at', type: 'timestamptz' }, { name: 'id', type: 'bigint' }];
    const client = await connect(db.url);
    try {
      const rows = async (range: SqlQuery) => (await estimateRows(client, { schema: 'public', name: 'big' }, range)).range;
      const composite = await rows(keysetRange({ table: { schema: 'public', name: 'big' }, cursor: keyset, after: [lo!.ts, lo!.id], upper: null, until: [hi!.ts, hi!.id] }));
      const scalar = await rows(firstColumnRange(keyset[0]!, lo!.ts, null, hi!.ts));
      expect(composite).toBeGreaterThan(50_000 * 1.3); // the planner's way, as it was estimated
      expect(scalar).toBeGreaterThan(50_000 * 0.8);
      expect(scalar).toBeLessThan(50_000 * 1.2);
    } finally {
      await client.end();
    }
    await s.close();

    await sql(
      db.url,
      `CREATE TABLE public.parted (id bigint NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (updated_at, id)) PARTITION BY RANGE (updated_at);
       CREATE TABLE public.parted_a PARTITION OF public.parted FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
       CREATE TABLE public.parted_b PARTITION OF public.parted FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
       INSERT INTO public.parted SELECT g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 1000) g`,
    );
    const p = await source('public.parted', ['updated_at', 'id']);
    await p.prepare({});
    expect(await p.estimateRemaining(null)).toBe(1000);
    const [bound] = (await p.split(null, 2)) as string[][];
    const [below] = await sql<{ n: string }>(db.url, `SELECT count(*)::text AS n FROM public.parted WHERE (updated_at, id) <= ($1::timestamptz, $2::bigint)`, bound);
    expect(Number(below!.n)).toBeGreaterThan(250);
    expect(Number(below!.n)).toBeLessThan(750);
    await p.close();
  });
});

describe('a sharded total where many rows share the first cursor column', () => {
  it('ranges ending inside a tie group count their share of it: the shards add up to the table (an acceptance run: 937,801 for 600,010)', async () => {
    const T = '2025-06-01 00:00:00+00';
    await sql(
      db.url,
      `CREATE TABLE public.ties (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL);
       INSERT INTO public.ties SELECT g, '${T}'::timestamptz FROM generate_series(1, 150000) g;
       INSERT INTO public.ties SELECT g, '2025-06-02 00:00:00+00'::timestamptz FROM generate_series(150001, 150010) g;
       CREATE INDEX ON public.ties (updated_at, id);
       ANALYZE public.ties;`,
    );
    const s = await source('public.ties', ['updated_at', 'id']);
    try {
      await s.prepare({});
      // Two shards cut inside the group, then three (a middle shard whose both ends are in it).
      const two = [await s.estimateRemaining(null, [T, '75000']), await s.estimateRemaining([T, '75000'], null)];
      expect(two).toEqual([75_000, 75_010]);
      const three = [await s.estimateRemaining(null, [T, '40000']), await s.estimateRemaining([T, '40000'], [T, '110000']), await s.estimateRemaining([T, '110000'], null)];
      expect(three).toEqual([40_000, 70_000, 40_010]);
      // A sync from a checkpoint inside the group: the rest of it, not none of it.
      expect(await s.estimateRemaining([T, '149990'])).toBe(20);
    } finally {
      await s.close();
    }
  });
});
