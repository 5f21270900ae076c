import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { statusAll } from '../../src/instances/status-all';
import { verifyIntegration } from '../../src/verify';
import pg from 'pg';
import { listDeadLetters } from '../../src/db/state';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// Cases an acceptance run of PostgreSQL sources found: a sink key the source repeats, a target dropped under a
// running integration.
let src: TestDatabase;
let dst: TestDatabase;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('acc_src'), createTestDatabase('acc_dst')]);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

function configOf(id: string, table: string, key: string[], extra: Record<string, unknown> = {}): Config {
  return parseConfig({
    integrations: [{ id, source: { kind: 'postgres', url: '${SRC_URL}', table, cursor: ['updated_at', 'id'] }, sink: { kind: 'postgres', url: '${DST_URL}', table: `public.${id}_copy`, key, create: true }, batchSize: 7, ...extra }],
  });
}

function run(config: Config, input: Partial<RunInput> & { integration: string; runKey: string }) {
  return new MockActivityEnvironment().run(createActivities({ config: () => config, env: vars() }).runIntegration, { mode: 'backfill', ...input } as RunInput);
}

describe('acceptance edges (PostgreSQL)', () => {
  it('a sink key that no unique index of the source covers: the run says rows sharing a key overwrite each other', async () => {
    await sql(src.url, `CREATE TABLE public.people (id int PRIMARY KEY, email text NOT NULL, updated_at timestamptz NOT NULL);
      INSERT INTO public.people SELECT g, 'p' || (g % 10) || '@x', '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 50) g`);
    const res = await run(configOf('people', 'public.people', ['email']), { integration: 'people', runKey: 'acc/people' });
    expect(res).toMatchObject({ rows: 50, done: true });
    const [{ n }] = (await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM public.people_copy')) as [{ n: string }];
    expect(n).toBe('10'); // the latest row per email, as documented
    const [row] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'acc/people'`);
    expect(row!.warnings).toContain('sink.key (email) is not unique in the source: source rows sharing a key overwrite each other in the target (the last in cursor order wins); make the key a unique column of the source if every row is to be kept');
    // A key the source's primary key covers: no such warning.
    await run(configOf('people2', 'public.people', ['id']), { integration: 'people2', runKey: 'acc/people2' });
    const [ok] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'acc/people2'`);
    expect(ok!.warnings.filter((w) => w.startsWith('sink.key'))).toEqual([]);
  });

  it('a partitioned source whose unique index is (region, id) and a sink.key of id: the warning says the key is unique only with the partition key, not that rows surely collapse', async () => {
    await sql(src.url, `CREATE TABLE public.parted (region text NOT NULL, id int NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
      CREATE TABLE public.parted_eu PARTITION OF public.parted FOR VALUES IN ('eu'); CREATE TABLE public.parted_us PARTITION OF public.parted FOR VALUES IN ('us');
      INSERT INTO public.parted SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 20) g`);
    const config = parseConfig({
      integrations: [{ id: 'parted', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.parted', cursor: ['updated_at', 'region', 'id'] }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.parted_copy', key: ['id'], create: true }, batchSize: 7 }],
    });
    expect(await run(config, { integration: 'parted', runKey: 'acc/parted' })).toMatchObject({ rows: 20, done: true });
    const [row] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'acc/parted'`);
    expect(row!.warnings.filter((w) => w.startsWith('sink.key'))).toEqual([
      'sink.key (id) is unique in the source only together with its partition key (region), as PostgreSQL requires of a partitioned table\'s unique indexes: if a key repeats across partitions, those rows overwrite each other in the target (the last in cursor order wins); keys drawn from one sequence or identity never do',
    ]);
  });

  it('a target dropped after a run: a sync refuses to recreate it empty and go on from its checkpoint; a backfill creates and fills it', async () => {
    await sql(src.url, `CREATE TABLE public.late (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
      INSERT INTO public.late SELECT g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 20) g`);
    const config = configOf('late', 'public.late', ['id']);
    expect(await run(config, { integration: 'late', runKey: 'acc/late/1', mode: 'sync' })).toMatchObject({ rows: 20 });
    await sql(dst.url, 'DROP TABLE public.late_copy');
    await sql(src.url, `INSERT INTO public.late VALUES (21, '2024-02-01')`);
    const err = await run(config, { integration: 'late', runKey: 'acc/late/2', mode: 'sync' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, message: expect.stringContaining('sink.table: public.late_copy does not exist, but this run continues from a committed cursor (["2024-01-01 00:00:20+00","20"]): a table created now would lack every row before it') });
    const [gone] = await sql(dst.url, `SELECT to_regclass('public.late_copy')::text AS t`);
    expect(gone).toEqual({ t: null }); // not created empty
    expect(await run(config, { integration: 'late', runKey: 'acc/late/3' })).toMatchObject({ rows: 21, done: true });
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.late_copy')).toEqual([{ n: '21' }]);
  });

  it('a sink database that is not UTF8: one clear error before anything is written', async () => {
    const name = `acc_latin1_${Date.now().toString(36)}`;
    await sql(src.url, `CREATE DATABASE ${name} ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`);
    const latin = new URL(src.url);
    latin.pathname = `/${name}`;
    try {
      await sql(src.url, `CREATE TABLE public.plain (id int PRIMARY KEY, updated_at timestamptz NOT NULL); INSERT INTO public.plain VALUES (1, '2024-01-01')`);
      const config = parseConfig({ integrations: [{ id: 'plain', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.plain', cursor: ['updated_at', 'id'] }, sink: { kind: 'postgres', url: latin.toString(), table: 'public.plain', key: ['id'], create: true } }] });
      const err = await run(config, { integration: 'plain', runKey: 'acc/latin' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ nonRetryable: true, type: 'StateEncodingError', message: expect.stringContaining(`must use the UTF8 encoding: database "${name}" uses LATIN1`) });
      expect(await sql(latin.toString(), `SELECT to_regnamespace('tidemark')::text AS s`)).toEqual([{ s: null }]);
    } finally {
      await sql(src.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('a checkpoint whose cursor no longer fits source.cursor: the error says which slot and how to go on, and the run has its row (an acceptance run)', async () => {
    await sql(src.url, `CREATE TABLE public.recur (id int PRIMARY KEY, updated_at timestamptz NOT NULL); INSERT INTO public.recur SELECT g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 20) g`);
    const before = configOf('recur', 'public.recur', ['id']);
    await run(before, { integration: 'recur', runKey: 'acc/recur/1', mode: 'sync' });
    const after = parseConfig({ integrations: [{ ...before.integrations[0]!, source: { ...before.integrations[0]!.source, cursor: ['id'] } }] });
    const err = await run(after, { integration: 'recur', runKey: 'acc/recur/2', mode: 'sync' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'CheckpointCursorChangedError', nonRetryable: true });
    expect((err as Error).message).toMatch(/^the sync checkpoint of recur was saved for cursor \[updated_at, id\], but source\.cursor is now \[id\]: .* `tidemark checkpoint reset recur --yes` makes the next sync start from the beginning/);
    // A checkpoint saved before its columns were recorded (migration 018): its shape still tells.
    await sql(dst.url, `UPDATE tidemark.checkpoints SET cursor_of = NULL WHERE integration = 'recur'`);
    const older = await run(after, { integration: 'recur', runKey: 'acc/recur/3', mode: 'sync' }).catch((e: unknown) => e);
    expect(older).toMatchObject({ type: 'StoredCursorMismatchError', nonRetryable: true });
    expect((older as Error).message).toMatch(
      /^the sync checkpoint holds cursor \["2024-01-01 00:00:20\+00","20"\], which does not fit source\.cursor now \(expected null or an array of 1 strings \(values of id\)\): the cursor or the source changed since it was saved\. `tidemark checkpoint reset recur --yes` makes the next sync start from the beginning/,
    );
    expect(await sql(dst.url, `SELECT status FROM tidemark.runs WHERE run_id = 'acc/recur/2'`)).toEqual([{ status: 'failed' }]);
    expect(await sql(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE integration = 'recur' AND slot = 'sync'`)).toEqual([{ cursor: ['2024-01-01 00:00:20+00', '20'] }]); // kept
  });

  it('status --all: an integration whose runs were all cancelled is never-run (no run completed yet), not ok', async () => {
    await sql(src.url, `CREATE TABLE public.gone (id int PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    const config = configOf('gone', 'public.gone', ['id']);
    await run(config, { integration: 'gone', runKey: 'acc/gone/1' }); // a run, so the state tables exist
    await sql(dst.url, `UPDATE tidemark.runs SET status = 'cancelled', error = 'cancelled by the operator' WHERE run_id = 'acc/gone/1'`);
    const [line] = await statusAll(config, { env: vars() });
    expect(line).toMatchObject({ id: 'gone', state: 'never-run', reason: 'no run completed yet; the last was cancelled: cancelled by the operator', lastSuccess: null });

    // A time-boxed run that stopped with more to read did its work: a last success, and "catching up" (acceptance
    // run: "ok, last success never" while a backlog was worked off). Pending dead letters show, and --failing lists them.
    await sql(dst.url, `UPDATE tidemark.runs SET status = 'partial', error = NULL WHERE run_id = 'acc/gone/1'`);
    const [partial] = await statusAll(config, { env: vars() });
    expect(partial).toMatchObject({ state: 'ok', reason: 'catching up: the last run stopped at its time budget with more to read', lastSuccess: expect.any(String), deadLetters: 0 });
    expect(await statusAll(config, { env: vars(), failing: true })).toEqual([]);
    await sql(dst.url, `INSERT INTO tidemark.dead_letters (integration, run_id, cursor, record, reason, stage) SELECT 'gone', 'acc/gone/1', 'null', '{}', 'refused', 'validate' FROM generate_series(1, 3);
      INSERT INTO tidemark.dead_letters (integration, run_id, cursor, record, reason, stage, retried_at) VALUES ('gone', 'acc/gone/1', 'null', '{}', 'done', 'validate', now())`);
    expect(await statusAll(config, { env: vars(), failing: true })).toEqual([expect.objectContaining({ id: 'gone', state: 'ok', deadLetters: 3 })]);
    // A second integration whose state database is down: its own line says so; the others still show (an
    // acceptance run: the whole overview failed).
    const both = parseConfig({ integrations: [...config.integrations, { ...config.integrations[0]!, id: 'downsink', sink: { ...config.integrations[0]!.sink, url: 'postgres://u:secret@127.0.0.1:1/nosink' } }] });
    // The metrics' reading fails instead (their last values stay, and read errors count); the CLI's lists it.
    await expect(statusAll(both, { env: vars() })).rejects.toThrow(/cannot reach the state database at 127\.0\.0\.1:1\/nosink/);
    const lines = await statusAll(both, { env: vars(), unreachableLines: true });
    expect(lines.map((l) => [l.id, l.state])).toEqual([['downsink', 'unreachable'], ['gone', 'ok']]);
    expect(lines[0]!.reason).toMatch(/^cannot reach the state database at 127\.0\.0\.1:1\/nosink .*ECONNREFUSED/);
    expect(lines[0]!.reason).not.toContain('secret');
    expect((await statusAll(both, { env: vars(), failing: true, unreachableLines: true })).map((l) => l.id)).toEqual(['downsink', 'gone']);
    // Listed oldest first by number, not as text (an acceptance run: #1, #10, #100, … under --limit 3).
    await sql(dst.url, `INSERT INTO tidemark.dead_letters (integration, run_id, cursor, record, reason, stage) SELECT 'gone', 'acc/gone/1', 'null', '{}', 'more', 'validate' FROM generate_series(1, 10)`);
    const db = new pg.Client({ connectionString: dst.url });
    await db.connect();
    try {
      const ids = (await listDeadLetters(db, 'gone', { limit: 12 })).map((l) => Number(l.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids[ids.length - 1]! - ids[0]!).toBe(11);
    } finally {
      await db.end();
    }
  });

  it('verify with a NULL in a nullable sink.key column of the source: no crash, and not "consistent" (those rows cannot be written)', async () => {
    await sql(src.url, `CREATE TABLE public.kn (id int PRIMARY KEY, updated_at timestamptz NOT NULL, email text UNIQUE);
      INSERT INTO public.kn SELECT g, '2024-01-01'::timestamptz + g * interval '1 s', CASE WHEN g = 1 THEN NULL ELSE 'u' || g || '@x' END FROM generate_series(1, 40) g`);
    const config = configOf('kn', 'public.kn', ['email']);
    await run(config, { integration: 'kn', runKey: 'acc/kn' });
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.kn_copy')).toEqual([{ n: '39' }]);
    for (const ranges of [1, 2, 4, 32]) {
      const report = await verifyIntegration(config.integrations[0]!, { env: vars(), ranges });
      expect(report).toMatchObject({ sourceRows: 39, targetRows: 39, differing: [], nullKeyRows: 1, consistent: false });
    }
  });

  it('a source parent whose INHERITS child repeats its keys: the run fails at once, non-retryable (it retried for good)', async () => {
    await sql(src.url, `CREATE TABLE public.inh_parent (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, v text); CREATE TABLE public.inh_child () INHERITS (public.inh_parent);
      INSERT INTO public.inh_parent SELECT g, '2024-01-01'::timestamptz + g * interval '1 s', 'p' FROM generate_series(1, 20) g;
      INSERT INTO public.inh_child SELECT g, '2024-01-01'::timestamptz + g * interval '1 s', 'c' FROM generate_series(1, 20) g`);
    const err = await run(configOf('inh', 'public.inh_parent', ['id']), { integration: 'inh', runKey: 'acc/inh' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true, type: 'PostgresError21000' });
    const [row] = await sql<{ warnings: string[] }>(dst.url, `SELECT warnings FROM tidemark.runs WHERE run_id = 'acc/inh'`);
    expect(row!.warnings).toContainEqual(expect.stringContaining('public.inh_parent has child tables (INHERITS: inh_child)'));
  });
});
