import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type PostgresSourceConfig } from '../../src/config';
import { connect } from '../../src/pg/connect';
import { PostgresSource } from '../../src/sources/postgres/postgres-source';
import { sinkKeyLoose } from '../../src/activities/run-setup';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * What decides how the keyset compares and where a run's range ends: the cursor columns' collations (a
 * nondeterministic one makes values that differ in bytes one cursor value) and clocks (a domain over a timestamp,
 * a date), found by an acceptance run that read 8 of 32 rows, and lost rows behind a date stamped ahead of now.
 */
let db: TestDatabase;
const open: PostgresSource[] = [];

beforeAll(async () => {
  db = await createTestDatabase('cursor_clocks');
  await sql(db.url, `CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`);
});
afterAll(async () => {
  await Promise.all(open.map((s) => s.close().catch(() => undefined)));
  await db?.drop();
});

async function source(table: string, cursor: string[], extra: Record<string, unknown> = {}) {
  const cfg = parseConfig({ integrations: [{ id: 'x', source: { kind: 'postgres', url: db.url, table, cursor, ...extra }, sink: { table: 't', key: ['id'] } }] });
  const s = new PostgresSource(await connect(db.url), cfg.integrations[0]!.source as PostgresSourceConfig);
  open.push(s);
  return s;
}

async function readAll(s: PostgresSource, column = 0): Promise<string[]> {
  const out: string[] = [];
  for await (const p of s.pages(null, { limit: 1 })) for (const r of p.rows) out.push(r[column] as string);
  return out;
}

const names = [...Array(16).keys()].map((i) => `n${String(i).padStart(2, '0')}`);

describe('a cursor column with a nondeterministic collation', () => {
  it('a unique index in another collation ("C") proves nothing: refused, naming the column and the index', async () => {
    await sql(db.url, `CREATE TABLE public.ci_t (name text COLLATE ci NOT NULL, v int);
      CREATE UNIQUE INDEX ci_t_name_c ON public.ci_t (name COLLATE "C")`);
    await sql(db.url, `INSERT INTO public.ci_t SELECT n, 1 FROM unnest($1::text[]) n UNION ALL SELECT upper(n), 2 FROM unnest($1::text[]) n`, [names]);
    const s = await source('public.ci_t', ['name']);
    await expect(s.prepare({})).rejects.toThrow(/source\.cursor: \[name\] is not unique in public\.ci_t as the keyset compares it: name has a nondeterministic collation .* index (public\.)?ci_t_name_c is unique under another collation/);
  });

  it('a unique index in the column\'s own collation proves it: every row read, one per page', async () => {
    await sql(db.url, `CREATE TABLE public.ci_own (name text COLLATE ci NOT NULL, v int);
      CREATE UNIQUE INDEX ON public.ci_own (name)`);
    await sql(db.url, `INSERT INTO public.ci_own SELECT CASE WHEN i % 2 = 0 THEN upper(n) ELSE n END, i FROM unnest($1::text[]) WITH ORDINALITY AS x(n, i)`, [names]);
    const s = await source('public.ci_own', ['name']);
    const plan = await s.prepare({});
    // A key on it: the run warns that the target must compare it alike (an acceptance run: 'AX' renamed 'ax' became a second target row).
    expect(plan.nondeterministic).toEqual(['name']);
    const it0 = parseConfig({ integrations: [{ id: 'x', source: { kind: 'postgres', url: db.url, table: 'public.ci_own', cursor: ['name'] }, sink: { table: 't', key: ['name'] } }] }).integrations[0]!;
    expect(sinkKeyLoose(it0, plan.nondeterministic)).toMatch(/^sink\.key column\(s\) name have a nondeterministic collation in the source .* give the target column\(s\) the source's collation/);
    expect((await readAll(s)).map((n) => n.toLowerCase())).toEqual(names);
  });

  it('ended with a unique id: ax and AX both read, in (name, id) order', async () => {
    await sql(db.url, `CREATE TABLE public.ci_id (name text COLLATE ci NOT NULL, id int PRIMARY KEY)`);
    await sql(db.url, `INSERT INTO public.ci_id SELECT n, i FROM unnest($1::text[]) WITH ORDINALITY AS x(n, i) UNION ALL SELECT upper(n), 100 + i FROM unnest($1::text[]) WITH ORDINALITY AS x(n, i)`, [names]);
    const s = await source('public.ci_id', ['name', 'id']);
    await s.prepare({});
    const ids = await readAll(s, 1);
    expect(ids).toHaveLength(32);
    expect(ids).toEqual(names.flatMap((_, i) => [String(i + 1), String(101 + i)]));
  });
});

describe('the first cursor column\'s clock', () => {
  it('a domain over timestamptz (through a domain over it) has a high-water mark: lag applies, a row ahead of now waits and is warned about', async () => {
    await sql(db.url, `CREATE DOMAIN stamp AS timestamptz; CREATE DOMAIN event_stamp AS stamp CHECK (VALUE > '2000-01-01');
      CREATE TABLE public.dom_t (at event_stamp NOT NULL, id int PRIMARY KEY); CREATE INDEX ON public.dom_t (at, id);
      INSERT INTO public.dom_t VALUES (now() - interval '1 hour', 1), (now() + interval '1 hour', 2)`);
    const s = await source('public.dom_t', ['at', 'id'], { lag: '5s' });
    const plan = await s.prepare({});
    expect(plan.highWater).not.toBeNull();
    expect(plan.describe).toMatch(/up to at < \d{4}-/);
    expect(plan.warnings?.join('\n')).toMatch(/1 row of public\.dom_t has at ahead of now/);
    expect(await readAll(s, 1)).toEqual(['1']);
  });

  it('a domain whose CHECK the high-water mark would fail (no values after 2025) still reads: the mark is cast to the base type (review)', async () => {
    await sql(db.url, `CREATE DOMAIN old_stamp AS timestamptz CHECK (VALUE < '2025-01-01');
      CREATE TABLE public.dom_old (at old_stamp NOT NULL, id int PRIMARY KEY); CREATE INDEX ON public.dom_old (at, id);
      INSERT INTO public.dom_old SELECT '2024-01-01'::timestamptz + g * interval '1 day', g FROM generate_series(1, 5) g`);
    const s = await source('public.dom_old', ['at', 'id']);
    await s.prepare({});
    expect(await readAll(s, 1)).toEqual(['1', '2', '3', '4', '5']);
    expect(await s.estimateRemaining?.(null)).toBeGreaterThan(0);
  });

  it('a domain over timestamp without time zone needs source.timeZone, as the type does', async () => {
    await sql(db.url, `CREATE DOMAIN wall AS timestamp; CREATE TABLE public.dom_wall (at wall NOT NULL, id int PRIMARY KEY)`);
    await expect((await source('public.dom_wall', ['at', 'id'])).prepare({})).rejects.toThrow(/source\.timeZone: is required: cursor column "at" of public\.dom_wall is timestamp without time zone/);
    await expect((await source('public.dom_wall', ['at', 'id'], { timeZone: 'UTC' })).prepare({})).resolves.toMatchObject({ describe: expect.stringContaining('(UTC time)') });
  });

  it('a date: a day is read once it is over (in source.timeZone; without one, in the zone whose day ends last), never while rows may still come for it', async () => {
    await sql(db.url, `CREATE TABLE public.days (day date NOT NULL, id int, PRIMARY KEY (day, id));
      INSERT INTO public.days VALUES ((now() AT TIME ZONE 'UTC')::date - 3, 1), ((now() AT TIME ZONE 'UTC')::date - 1, 2), ((now() AT TIME ZONE 'UTC')::date, 3), ((now() AT TIME ZONE 'UTC')::date + 5, 4)`);
    const [{ utc, last }] = (await sql<{ utc: string; last: string }>(db.url, `SELECT (now() AT TIME ZONE 'UTC')::date::text AS utc, (now() AT TIME ZONE 'Etc/GMT+12')::date::text AS last`)) as [{ utc: string; last: string }];
    const inUtc = await source('public.days', ['day', 'id'], { timeZone: 'UTC' });
    const plan = await inUtc.prepare({});
    expect(plan.highWater).toBe(utc);
    expect(plan.describe).toContain(`up to day < ${utc} (UTC time)`);
    expect(plan.warnings?.join('\n')).toMatch(/1 row of public\.days has day ahead of now/);
    expect(await readAll(inUtc, 1)).toEqual(['1', '2']);
    const unset = await source('public.days', ['day', 'id']);
    const assumed = await unset.prepare({});
    expect(assumed.highWater).toBe(last);
    expect(assumed.describe).toContain(`up to day < ${last} (the day in Etc/GMT+12, the last to end on earth: set source.timeZone`);
    expect(assumed.warnings?.join('\n')).toContain(`this run reads public.days up to day < ${last}: a day is read once it is over in Etc/GMT+12, the last zone on earth to end it, as source.timeZone is not set`);
    expect(plan.warnings?.join('\n')).not.toContain('source.timeZone is not set');
    expect(await readAll(unset, 1)).toEqual(last === utc ? ['1', '2'] : ['1']);
    // lag moves the mark back by whole days once it passes midnight.
    const lagged = await source('public.days', ['day', 'id'], { timeZone: 'UTC', lag: '48h' });
    expect((await lagged.prepare({})).highWater).toBe((await sql<{ d: string }>(db.url, `SELECT ((now() AT TIME ZONE 'UTC') - interval '48 hours')::date::text AS d`))[0]!.d);
  });

  it('an integer first column still has no clock: lag is refused', async () => {
    await sql(db.url, `CREATE TABLE public.ints (id int PRIMARY KEY)`);
    await expect((await source('public.ints', ['id'], { lag: '5s' })).prepare({})).rejects.toThrow(/source\.lag: needs a timestamp or date as the first cursor column, but "id" is integer/);
  });
});

describe('the table changing under a run', () => {
  it('a column dropped between pages: an error naming the table and that the retry describes it again, not a bare "does not exist" (an acceptance run)', async () => {
    await sql(db.url, `CREATE TABLE public.shrinking (id int PRIMARY KEY, note text); INSERT INTO public.shrinking SELECT g, 'n' || g FROM generate_series(1, 5) g`);
    const s = await source('public.shrinking', ['id']);
    await s.prepare({});
    const pages = s.pages(null, { limit: 2 })[Symbol.asyncIterator]();
    expect((await pages.next()).value?.rows).toHaveLength(2);
    await sql(db.url, `ALTER TABLE public.shrinking DROP COLUMN note`);
    const err = await pages.next().then(() => undefined, (e: unknown) => e as Error);
    expect(err?.name).toBe('SourceTableChangedError');
    expect(err?.message).toMatch(/^source table public\.shrinking changed while the run read it \(column "note" does not exist: dropped or renamed since the run described the table\); the run is retried from its checkpoint/);
  });
});

