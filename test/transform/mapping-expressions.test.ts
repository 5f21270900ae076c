import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { ConfigError, parseConfig, type Config } from '../../src/config';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });

/** The transforms of seed 004, in the mapping's expression syntax (a leading = or { expr }). */
const SEED_MAPPING = {
  id: 'id',
  name: "=first_name & ' ' & last_name",
  status: "=active ? 'active' : 'inactive'",
  email: '=$lower(email)',
  origin: "='crm'",
  synced_at: '=$now()',
  profile: { expr: '{ "name": first_name & " " & last_name, "city": city, "age": age, "active": active }' },
};

function config(id: string, mapping: Record<string, unknown>, table = `public.${id}`): Config {
  return parseConfig({
    integrations: [
      {
        id,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.people', cursor: ['updated_at', 'id'], lag: '0s' },
        sink: { kind: 'postgres', url: '${DST_URL}', table, key: ['id'], create: true },
        batchSize: 70,
        mapping,
      },
    ],
  });
}

async function run(cfg: Config, runKey: string): Promise<RunResult> {
  const acts = createActivities({ config: () => cfg, env: vars() });
  const input: RunInput = { integration: cfg.integrations[0]!.id, mode: 'backfill', runKey };
  return (await new MockActivityEnvironment().run(acts.runIntegration, input)) as RunResult;
}

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('expr_src'), createTestDatabase('expr_dst')]);
  // 300 people: every 3rd inactive, every 25th with NULL active, every 50th without email; every 40th score is not a number.
  await sql(
    src.url,
    `CREATE TABLE public.people (id int PRIMARY KEY, first_name text, last_name text, active boolean, email text, city text, age int, score text, updated_at timestamptz NOT NULL);
     CREATE INDEX ON public.people (updated_at, id);
     INSERT INTO public.people
     SELECT g, 'First' || g, 'Last' || g, CASE WHEN g % 25 = 0 THEN NULL ELSE g % 3 <> 0 END, CASE WHEN g % 50 = 0 THEN NULL ELSE 'P' || g || '@Example.COM' END,
            CASE WHEN g % 2 = 0 THEN 'Oslo' END, 20 + g % 40, CASE WHEN g % 40 = 0 THEN 'n/a' ELSE (g * 2)::text END,
            '2024-01-01'::timestamptz + g * interval '1 second'
       FROM generate_series(1, 300) g`,
  );
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('mapping expressions (JSONata) in a real run', () => {
  it('writes every seed transform, with target column types inferred from the expressions', async () => {
    const before = new Date();
    expect(await run(config('seed', SEED_MAPPING), 'e/1')).toMatchObject({ rows: 300, done: true });
    const types = await sql(dst.url, `SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'seed' ORDER BY ordinal_position`);
    expect(types).toEqual([
      { c: 'id', t: 'integer' },
      { c: 'name', t: 'text' },
      { c: 'status', t: 'text' },
      { c: 'email', t: 'text' },
      { c: 'origin', t: 'text' },
      { c: 'synced_at', t: 'timestamp with time zone' },
      { c: 'profile', t: 'jsonb' },
    ]);
    const rows = await sql<Record<string, unknown>>(dst.url, `SELECT id, name, status, email, origin, synced_at, profile FROM public.seed WHERE id IN (1, 2, 3, 25) ORDER BY id`);
    expect(rows.map(({ synced_at: _, ...r }) => r)).toEqual([
      { id: 1, name: 'First1 Last1', status: 'active', email: 'p1@example.com', origin: 'crm', profile: { name: 'First1 Last1', city: null, age: 21, active: true } },
      { id: 2, name: 'First2 Last2', status: 'active', email: 'p2@example.com', origin: 'crm', profile: { name: 'First2 Last2', city: 'Oslo', age: 22, active: true } },
      // a boolean source column is a boolean in expressions ("f" would be truthy text)
      { id: 3, name: 'First3 Last3', status: 'inactive', email: 'p3@example.com', origin: 'crm', profile: { name: 'First3 Last3', city: null, age: 23, active: false } },
      { id: 25, name: 'First25 Last25', status: 'inactive', email: 'p25@example.com', origin: 'crm', profile: { name: 'First25 Last25', city: null, age: 45, active: null } },
    ]);
    for (const r of rows) {
      expect((r.synced_at as Date).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
      expect((r.synced_at as Date).getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM public.seed`)).toEqual([{ n: '300' }]);
    // $lower keeps NULL (JSONata's own $lowercase would fail on it)
    expect(await sql(dst.url, `SELECT email FROM public.seed WHERE id = 50`)).toEqual([{ email: null }]);
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.dead_letters WHERE integration = 'seed'`)).toEqual([{ n: '0' }]);
  });

  it('sends records whose expression fails or returns the wrong type to dead letters; the run goes on; --retry after a fix', async () => {
    const mapping = {
      id: 'id',
      status: "=active ? 'active' : 'inactive'",
      score: { expr: '$number(score)', type: 'integer' },
      flag: { expr: "active = null ? 'unknown' : active", type: 'boolean' },
      initials: '=$substring(first_name, 0, 1) & $substring(last_name, 0, 1)', // JSONata evaluates this one
    };
    const r = await run(config('bad', mapping), 'e/2');
    expect(r).toMatchObject({ rows: 300, done: true });
    const letters = await sql<{ reason: string; n: string }>(dst.url, `SELECT reason, count(*)::text AS n FROM tidemark.dead_letters WHERE integration = 'bad' GROUP BY reason ORDER BY reason`);
    expect(letters).toEqual([
      // active NULL (ids % 25 = 0) but id 200, whose score fails first
      { reason: 'flag: the expression returned a string ("unknown"), but the column is boolean', n: '11' },
      { reason: expect.stringMatching(/^score: the expression failed: D3030: Unable to cast value to a number: "n\/a" \(at character \d+\)$/), n: '7' },
    ]);
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM public.bad`)).toEqual([{ n: '282' }]);
    expect(await sql(dst.url, `SELECT id, status, score, flag, initials FROM public.bad WHERE id IN (3, 4) ORDER BY id`)).toEqual([
      { id: 3, status: 'inactive', score: 6, flag: false, initials: 'FL' },
      { id: 4, status: 'active', score: 8, flag: true, initials: 'FL' },
    ]);
    expect(await sql(dst.url, `SELECT rows_rejected::text, status FROM tidemark.runs WHERE integration = 'bad'`)).toEqual([{ rows_rejected: '18', status: 'completed' }]);

    // Fixed expressions: the letters are evaluated again with the source's types (active false stays inactive).
    const fixed = config('bad', { ...mapping, score: { expr: "$match(score, /^[0-9]+$/) ? $number(score) : null", type: 'integer' }, flag: { expr: 'active = true', type: 'boolean' } });
    const retry = await retryDeadLetters(fixed.integrations[0]!, vars());
    expect(retry).toMatchObject({ pending: 18, written: 18, stillFailing: [] });
    expect(await sql(dst.url, `SELECT id, status, score, flag FROM public.bad WHERE id IN (120, 200, 25) ORDER BY id`)).toEqual([
      { id: 25, status: 'inactive', score: 50, flag: false },
      { id: 120, status: 'inactive', score: null, flag: false },
      { id: 200, status: 'inactive', score: null, flag: false },
    ]);
  });

  it('an expression reading a field the source does not have fails the run before anything is written', async () => {
    const cfg = config('unknown_field', { id: 'id', name: "=first_name & ' ' & surname" });
    await expect(run(cfg, 'e/3')).rejects.toMatchObject({
      nonRetryable: true,
      type: 'MappingError',
      message: expect.stringContaining('mapping.name: the expression reads source field "surname" (at character 27), which does not exist (source columns: id, first_name,'),
    });
    expect(await sql(dst.url, `SELECT to_regclass('public.unknown_field')::text AS t`)).toEqual([{ t: null }]);
  });

  it('reports bad expressions when the config loads, naming the field and the position', () => {
    const issues = (mapping: Record<string, unknown>): string[] => {
      try {
        config('cfg', mapping);
      } catch (err) {
        return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      throw new Error('expected a ConfigError');
    };
    expect(issues({ id: 'id', name: "=first_name & ' ' &" })).toEqual(['integrations[0].mapping.name: is not a valid JSONata expression: Unexpected end of expression (at character 19)']);
    // (positions count in the value as written, its leading = included)
    expect(issues({ id: 'id', name: { expr: 'first_name &&' } })[0]).toMatch(/^integrations\[0\]\.mapping\.name\.expr: is not a valid JSONata expression: .* \(at character \d+\)$/);
    expect(issues({ id: 'id', name: "=first_name + ' ' + last_name" })).toEqual([
      "integrations[0].mapping.name: + adds numbers in JSONata: join text with & (first_name & ' ' & last_name) (at character 13)",
    ]);
    expect(issues({ id: 'id', email: '=lower(email)' })[0]).toMatch(/^integrations\[0\]\.mapping\.email: lower\(…\) is not a function: JSONata functions start with \$ \(\$lower\(…\);/);
    expect(issues({ id: 'id', email: { expr: 'email', transform: 'lower' } })[0]).toMatch(/^integrations\[0\]\.mapping\.email\.transform: applies to from only/);
    expect(issues({ module: './map.ts', id: 'id' })[0]).toMatch(/^integrations\[0\]\.mapping\.module: a mapping module maps whole records: list no columns beside it \(found id\)/);
    // Unknown $names (found by an acceptance run: each used to load, then dead-letter every record or write NULL).
    expect(issues({ id: 'id', e: '=$lowr(email)' })).toEqual([
      "integrations[0].mapping.e: $lowr(…) is not a function: did you mean $lower? (JSONata's functions, and $lower / $upper, which keep NULL) (at character 6)",
    ]);
    expect(issues({ id: 'id', n: { expr: '$lower($emial)' } })).toEqual([
      "integrations[0].mapping.n.expr: uses $emial, which is not defined: a mapping expression reads the record's fields by name (emial, not $emial) and binds no variables (at character 13)",
    ]);
    expect(issues({ id: 'id', x: "=$foo & first_name" })[0]).toMatch(/mapping\.x: uses \$foo, which is not defined/);
    expect(issues({ id: 'id', x: '=$frobnicate(first_name)' })[0]).toMatch(/mapping\.x: \$frobnicate\(…\) is not a function \(JSONata's functions/);
    // Known functions, helpers, $ and $$, names the expression binds, functions passed as values: all fine.
    expect(() =>
      config('cfg', {
        id: 'id',
        a: "=$uppercase($trim(first_name)) & $string($count($.tags))",
        b: '=($n := $number(age); $n > 17 ? $lower(email) : $$.email)',
        c: '=$map(tags, function($t) { $upper($t) })',
        d: '=$map(tags, $string)',
        e: '=$fromMillis($millis()) & $now()',
        f: '=tags#$i[$i = 0]',
        g: "=$join(tags@$t.($t & '!'), ',')",
      }),
    ).not.toThrow();
  });
});
