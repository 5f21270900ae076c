import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config, type PostgresSinkConfig } from '../../src/config';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { migrate } from '../../src/db/migrate';
import { insertDeadLetters } from '../../src/db/state/dead-letters';
import { runCli } from '../helpers/cli';
import { sql } from '../helpers/fixtures';
import pg from 'pg';
const stateClient = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
};
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });

function config(ageMin: number): Config {
  return parseConfig({
    integrations: [
      {
        id: 'customers',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.customers', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.customers_clean', key: ['id'], create: true },
        batchSize: 100,
        mapping: {
          id: 'id',
          email: { from: 'email', transform: 'lower' },
          city: { from: 'profile.address.city' },
          age: { from: 'age', type: 'integer' },
          updated_at: 'updated_at',
        },
        validate: { email: { required: true, pattern: '@' }, age: { type: 'integer', min: ageMin } },
      },
    ],
  });
}

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('dl_src'), createTestDatabase('dl_dst')]);
  // 1000 customers: 40 ids (divisible by 20, not by 50) have age -1, which a rule change below makes
  // valid; 20 ids (divisible by 50) have no email, never valid.
  await sql(
    src.url,
    `CREATE TABLE public.customers (id int PRIMARY KEY, email text, profile jsonb NOT NULL, age text, updated_at timestamptz NOT NULL);
     INSERT INTO public.customers
     SELECT g, CASE WHEN g % 50 = 0 THEN NULL ELSE 'User' || g || '@Example.COM' END,
            jsonb_build_object('address', jsonb_build_object('city', 'City ' || (g % 7))),
            CASE WHEN g % 20 = 0 AND g % 50 <> 0 THEN '-1' ELSE (20 + g % 50)::text END,
            '2024-01-01'::timestamptz + g * interval '1 second'
       FROM generate_series(1, 1000) g`,
  );
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

/** Integration `id` into its own target public.customers_<id>, which refuses customers of City 3 up to id `upTo`. */
async function strictTarget(id: string, upTo: number) {
  await sql(dst.url, `CREATE TABLE public.customers_${id} (id int PRIMARY KEY, email text, city text CONSTRAINT ${id}_no_city_3 CHECK (city <> 'City 3' OR id > ${upTo}), age integer, updated_at timestamptz)`);
  const cfg = config(0);
  Object.assign(cfg.integrations[0]!, { id });
  (cfg.integrations[0]!.sink as PostgresSinkConfig).table = `public.customers_${id}`;
  return { cfg, acts: createActivities({ config: () => cfg, env: vars() }) };
}

describe('mapping, validation and dead letters', () => {
  it('maps and validates records; failures go to dead letters with the reason and the run goes on', async () => {
    const acts = createActivities({ config: () => config(0), env: vars() });
    const input: RunInput = { integration: 'customers', mode: 'backfill', runKey: 'dl/1' };
    const r = (await new MockActivityEnvironment().run(acts.runIntegration, input)) as RunResult;
    expect(r).toMatchObject({ rows: 1000, done: true, rejected: 60 }); // --wait prints it
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.customers_clean')).toEqual([{ n: '940' }]);
    expect(await sql(dst.url, `SELECT email, city, age::text FROM public.customers_clean WHERE id = 7`)).toEqual([{ email: 'user7@example.com', city: 'City 0', age: '27' }]);
    const letters = await sql<{ reason: string; n: string }>(dst.url, `SELECT reason, count(*)::text AS n FROM tidemark.dead_letters GROUP BY reason ORDER BY reason`);
    expect(letters).toEqual([
      { reason: 'age: must be ≥ 0 (got "-1")', n: '40' },
      { reason: 'email: is required', n: '20' },
    ]);
    const [letter] = await sql<{ record: Record<string, unknown>; cursor: string[] }>(dst.url, `SELECT record, cursor FROM tidemark.dead_letters ORDER BY id LIMIT 1`);
    expect(letter!.record).toMatchObject({ id: '20', age: '-1', email: 'User20@Example.COM' });
    expect(letter!.cursor).toHaveLength(2);
    expect(await sql(dst.url, `SELECT rows_committed::text, rows_rejected::text, status FROM tidemark.runs`)).toEqual([{ rows_committed: '1000', rows_rejected: '60', status: 'completed' }]);
  });

  it('dead-letters lists them; --retry re-processes after a fix, keeping what still fails', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tm-dl-'));
    writeFileSync(join(cwd, 'tidemark.json'), JSON.stringify({ integrations: [{ ...config(-5).integrations[0], source: { ...config(-5).integrations[0]!.source, lag: '0s' } }] }));
    const list = await runCli(['dead-letters', 'customers', '--limit', '2'], vars(), cwd);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/#\d+ .* at cursor \[.*\]\n {2}reason: age: must be ≥ 0 \(got "-1"\)\n {2}record: \{.*"id": "20"/);
    const retry = await runCli(['dead-letters', 'customers', '--retry'], vars(), cwd);
    expect(retry.stdout).toMatch(/60 pending dead letter\(s\) re-processed: 40 now pass \(40 rows written\), 20 still failing/);
    expect(retry.code).toBe(1); // some still fail
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.customers_clean')).toEqual([{ n: '980' }]);
    expect(await sql(dst.url, `SELECT age::text FROM public.customers_clean WHERE id = 20`)).toEqual([{ age: '-1' }]);
    const again = await retryDeadLetters(config(-5).integrations[0]!, vars());
    expect(again).toMatchObject({ pending: 20, written: 0 });
    expect(again.stillFailing.every((f) => f.reason === 'email: is required')).toBe(true);
  });

  it('a mapped row the target refuses is kept as the target row; --retry writes it as it is once the target is fixed', async () => {
    const { cfg, acts } = await strictTarget('strict', 200);
    const input: RunInput = { integration: 'strict', mode: 'backfill', runKey: 'dl/3' };
    expect(await new MockActivityEnvironment().run(acts.runIntegration, input)).toMatchObject({ rows: 1000, done: true });
    const [{ n: refused }] = (await sql(src.url, `SELECT count(*)::text AS n FROM public.customers WHERE id % 7 = 3 AND id <= 200 AND email IS NOT NULL AND age <> '-1'`)) as [{ n: string }];
    expect(await sql(dst.url, `SELECT stage, count(*)::text AS n FROM tidemark.dead_letters WHERE integration = 'strict' GROUP BY stage ORDER BY stage`)).toEqual([
      { stage: 'validate', n: '60' },
      { stage: 'write', n: refused },
    ]);
    const [letter] = await sql<{ record: Record<string, unknown>; reason: string }>(dst.url, `SELECT record, reason FROM tidemark.dead_letters WHERE integration = 'strict' AND stage = 'write' ORDER BY id LIMIT 1`);
    // The mapped target row (email lower-cased, city from the JSON path), not the source record.
    expect(letter!.record).toMatchObject({ id: '3', email: 'user3@example.com', city: 'City 3', age: '23' });
    expect(letter!.reason).toMatch(/^check_violation \(23514\) on strict_no_city_3: /);
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.customers_strict')).toEqual([{ n: String(940 - Number(refused)) }]);

    await sql(dst.url, 'ALTER TABLE public.customers_strict DROP CONSTRAINT strict_no_city_3');
    const r = await retryDeadLetters(cfg.integrations[0]!, vars());
    expect(r).toMatchObject({ pending: 60 + Number(refused), written: Number(refused) });
    expect(r.stillFailing).toHaveLength(60); // the validation rules did not change
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.customers_strict')).toEqual([{ n: '940' }]);
    expect(await sql(dst.url, `SELECT email, city FROM public.customers_strict WHERE id = 3`)).toEqual([{ email: 'user3@example.com', city: 'City 3' }]);
  });

  it('--retry does not apply a refused row whose key has a newer letter that still fails (an acceptance run: the older version was written)', async () => {
    const { cfg, acts } = await strictTarget('strict2', 20);
    expect(await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'strict2', mode: 'backfill', runKey: 'dl/s2a' } satisfies RunInput)).toMatchObject({ done: true });
    // Customers 3 and 10 are refused by the target (letters of the mapped rows). Then 3 changes and fails validation.
    expect(await sql(dst.url, `SELECT record->>'id' AS id FROM tidemark.dead_letters WHERE integration = 'strict2' AND stage = 'write' ORDER BY (record->>'id')::int`)).toEqual([{ id: '3' }, { id: '10' }, { id: '17' }]);
    await sql(src.url, `UPDATE public.customers SET email = NULL, updated_at = now() - interval '1 hour' WHERE id = 3`);
    try {
      expect(await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'strict2', mode: 'sync', runKey: 'dl/s2b' } satisfies RunInput)).toMatchObject({ done: true });
      await sql(dst.url, 'ALTER TABLE public.customers_strict2 DROP CONSTRAINT strict2_no_city_3');
      const r = await retryDeadLetters(cfg.integrations[0]!, vars());
      expect(r).toMatchObject({ superseded: 1, written: 2 });
      expect(await sql(dst.url, `SELECT id::text FROM public.customers_strict2 WHERE id IN (3, 10, 17) ORDER BY id`)).toEqual([{ id: '10' }, { id: '17' }]);
      expect(await sql(dst.url, `SELECT stage, superseded, retried_at IS NOT NULL AS retried FROM tidemark.dead_letters WHERE integration = 'strict2' AND record->>'id' = '3' ORDER BY id`)).toEqual([
        { stage: 'write', superseded: true, retried: true },
        { stage: 'validate', superseded: false, retried: false },
      ]);
    } finally {
      await sql(src.url, `UPDATE public.customers SET email = 'User3@Example.COM' WHERE id = 3`);
    }
  });

  it('--retry leaves a letter that a later write of its key made stale (superseded, not applied) and applies the others', async () => {
    const cfg = config(0);
    Object.assign(cfg.integrations[0]!, { id: 'stale' });
    (cfg.integrations[0]!.sink as PostgresSinkConfig).table = 'public.customers_stale';
    const acts = createActivities({ config: () => cfg, env: vars() });
    expect(await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'stale', mode: 'backfill', runKey: 'dl/4' } satisfies RunInput)).toMatchObject({ done: true });
    // Customers 20 and 40 (age -1: dead letters) are fixed at the source; the next sync writes their new versions.
    await sql(src.url, `UPDATE public.customers SET age = '33', updated_at = now() - interval '1 hour' WHERE id IN (20, 40)`);
    // Customer 60 changes but still fails (age -2): a second letter of the same key, newer than the first.
    await sql(src.url, `UPDATE public.customers SET age = '-2', updated_at = now() - interval '1 hour' WHERE id = 60`);
    expect(await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'stale', mode: 'sync', runKey: 'dl/5' } satisfies RunInput)).toMatchObject({ rows: 3, done: true });
    const relaxed = config(-5).integrations[0]!;
    const r = await retryDeadLetters({ ...relaxed, id: 'stale', sink: cfg.integrations[0]!.sink }, vars());
    // 61 letters: 3 superseded (20 and 40 written since, 60's older letter), 38 now pass (ages -1 and -2 allowed), 20 still without an email.
    expect(r).toMatchObject({ pending: 61, superseded: 3, written: 38 });
    expect(r.stillFailing).toHaveLength(20);
    expect(await sql(dst.url, `SELECT id::text, age::text FROM public.customers_stale WHERE id IN (20, 40, 60, 80) ORDER BY id`)).toEqual([
      { id: '20', age: '33' },
      { id: '40', age: '33' },
      { id: '60', age: '-2' },
      { id: '80', age: '-1' },
    ]);
    const settled = await sql(dst.url, `SELECT record->>'id' AS id, record->>'age' AS age FROM tidemark.dead_letters WHERE integration = 'stale' AND superseded ORDER BY id`);
    expect(settled).toEqual([
      { id: '20', age: '-1' },
      { id: '40', age: '-1' },
      { id: '60', age: '-1' },
    ]);
    const cwd = mkdtempSync(join(tmpdir(), 'tm-dl-'));
    writeFileSync(join(cwd, 'tidemark.json'), JSON.stringify({ integrations: [{ ...relaxed, id: 'stale', sink: cfg.integrations[0]!.sink }] }));
    const list = await runCli(['dead-letters', 'stale', '--all', '--limit', '1'], vars(), cwd);
    expect(list.stdout).toMatch(/\(superseded by a later write of its key, not applied \d{4}-/);
  });

  it('--retry settles a letter that still fails once a later run wrote its key (the record\'s next version passed): superseded (no mapping)', async () => {
    await sql(src.url, `CREATE TABLE public.people (id int PRIMARY KEY, email text, updated_at timestamptz NOT NULL);
      INSERT INTO public.people SELECT g, CASE WHEN g IN (4, 8) THEN NULL ELSE 'p' || g || '@x' END, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 10) g`);
    const cfg = parseConfig({
      integrations: [
        {
          id: 'people',
          source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.people', cursor: ['updated_at', 'id'], lag: '0s' },
          sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.people_copy', key: ['id'], create: true },
          validate: { email: { required: true, pattern: '@' } },
        },
      ],
    });
    const acts = createActivities({ config: () => cfg, env: vars() });
    const runOnce = (runKey: string, mode: RunInput['mode']) => new MockActivityEnvironment().run(acts.runIntegration, { integration: 'people', mode, runKey }) as Promise<RunResult>;
    expect(await runOnce('pp/1', 'backfill')).toMatchObject({ rows: 10, done: true });
    // Person 4 gets an email (the next version passes and is written); person 8 still has none.
    await sql(src.url, `UPDATE public.people SET email = 'd@x', updated_at = '2024-02-01' WHERE id = 4`);
    expect(await runOnce('pp/2', 'sync')).toMatchObject({ rows: 1, done: true });
    const r = await retryDeadLetters(cfg.integrations[0]!, vars());
    expect(r).toMatchObject({ pending: 2, superseded: 1, written: 0, stillFailing: [{ reason: expect.stringMatching(/email/) }] });
    expect(await sql(dst.url, `SELECT record->>'id' AS id, superseded FROM tidemark.dead_letters WHERE integration = 'people' ORDER BY id`)).toEqual([
      { id: '4', superseded: true },
      { id: '8', superseded: false },
    ]);
    expect(await sql(dst.url, `SELECT email FROM public.people_copy WHERE id = 4`)).toEqual([{ email: 'd@x' }]);
  });

  it('rejects a mapping that names a missing source field, before writing anything', async () => {
    const bad = config(0);
    bad.integrations[0]!.mapping = { id: 'id', nope: 'missing_col' };
    (bad.integrations[0]!.sink as PostgresSinkConfig).table = 'public.never_created';
    const acts = createActivities({ config: () => bad, env: vars() });
    const input: RunInput = { integration: 'customers', mode: 'backfill', runKey: 'dl/2' };
    await expect(new MockActivityEnvironment().run(acts.runIntegration, input)).rejects.toMatchObject({
      nonRetryable: true,
      type: 'MappingError',
      message: expect.stringContaining('mapping.nope: source field "missing_col" does not exist'),
    });
    expect(await sql(dst.url, `SELECT to_regclass('public.never_created')::text AS t`)).toEqual([{ t: null }]);
  });
  it('--retry of an API source\'s letters needs no source credential: its columns are in the config (an acceptance run: every customer\'s token was asked for)', async () => {
    const cfg = parseConfig({
      integrations: [
        {
          id: 'api-letters',
          source: { kind: 'http', url: 'http://127.0.0.1:9/users', headers: { Authorization: 'Bearer ${SRC_TOKEN}' }, pagination: { style: 'link_header', sinceParam: 'since' }, columns: { id: 'bigint', email: 'text', updated_at: 'timestamptz' } },
          sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.api_users', key: ['id'], create: true },
          mapping: { id: 'id', email: '=$lowercase(email)', updated_at: 'updated_at' }, // an expression: reads typed values
          validate: { email: { required: true, pattern: '@' } },
        },
      ],
    });
    await sql(dst.url, 'CREATE TABLE public.api_users (id bigint PRIMARY KEY, email text, updated_at timestamptz)');
    const c = await stateClient(dst.url);
    try {
      await migrate(c);
      await insertDeadLetters(c, 'api-letters', 'wf/api', ['2025-01-01T00:00:00Z', 7], [{ record: { id: 7, email: 'Ann@Example.COM', updated_at: '2025-01-01T00:00:00Z' }, reason: 'email: is required', stage: 'validate' }]);
    } finally {
      await c.end();
    }
    const r = await retryDeadLetters(cfg.integrations[0]!, { DST_URL: dst.url }); // no SRC_TOKEN here
    expect(r).toMatchObject({ pending: 1, written: 1, stillFailing: [] });
    expect(await sql(dst.url, 'SELECT id::text, email FROM public.api_users')).toEqual([{ id: '7', email: 'ann@example.com' }]);
  });
});
