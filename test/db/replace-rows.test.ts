import { describe, expect, it } from 'vitest';
import { writeIsolatingBadRows } from '../../src/activities/isolate-bad-rows';
import { parseConfig, postgresSinkOf } from '../../src/config';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { replaceBlockers } from '../../src/sinks/replace-rows';
import { describeTable } from '../../src/sources/postgres/describe-table';
import type { ColumnSpec } from '../../src/sources/source';
import { sql } from '../helpers/fixtures';
import { commit, sinkSessions, TYPED_SOURCE } from '../helpers/sink-pages';

/**
 * Mostly changed pages replaced (issue 16, replace-rows.ts): DELETE of the page's keys and COPY into the target
 * in one script, instead of the staged upsert. What must hold: the target ends exactly as the upsert leaves it
 * (every type, awkward composite keys); targets where a delete and an insert differ from an update (a column
 * of their own, triggers, foreign keys pointing at them, rules, publications) keep the upsert; repeated or
 * NULL keys, unique violations and refused values fall back to the staged write with its errors; and a run
 * whose pages stop changing goes back to comparing them.
 */
const fx = sinkSessions('replace_rows', 'DROP PUBLICATION IF EXISTS tm_pub');
const { statements, page, xmins } = fx;
const differing = async () =>
  Number(
    (await sql<{ n: string }>(fx.db.url, `SELECT count(*)::text AS n FROM ((SELECT * FROM src.t EXCEPT SELECT * FROM dst.t) UNION ALL (SELECT * FROM dst.t EXCEPT SELECT * FROM src.t)) d`))[0]!.n,
  );
/** A replaced page's script starts with the target locked and its shape checked again (replaceGuardSql). */
const GUARD = String.raw`BEGIN; LOCK TABLE "dst"\."t" IN ROW EXCLUSIVE MODE; SELECT CASE WHEN .*'tidemark: the target changed during the run: ' \|\| s\.columns \|\| ' columns'\)::int END FROM \(.*\) s; `;
const isReplace = (s: string) => new RegExp(`^${GUARD}DELETE FROM "dst"\\."t" t `, 's').test(s);
const isStaged = (s: string) => /^BEGIN; COPY pg_temp\./.test(s);

/** A sink on dst.t (made by `targetDdl`, or created as src.t's copy) filled with src.t's rows as they are now. */
async function sinkOn(key: string[], targetDdl?: string): Promise<{ sink: PostgresSink; columns: ColumnSpec[] }> {
  const columns = (await describeTable(fx.reader, { schema: 'src', name: 't' }, 'source'))!.columns;
  if (targetDdl) await sql(fx.db.url, targetDdl);
  const sink = new PostgresSink(fx.client, { kind: 'postgres', url: fx.db.url, table: 'dst.t', key, create: true } as never);
  await sink.prepare(columns, { keyUniqueInPage: false });
  const all = await page(columns, 'true', key.join(', '));
  expect(await sink.writeCopy(all.data, all.count, commit)).toEqual({ written: all.count });
  return { sink, columns };
}

const CHANGE_ALL = `UPDATE src.t SET amount = amount + 1, note = coalesce(note, '') || ' v2', doc = doc || '{"v": 2}', at = at + interval '1 microsecond', raw = raw || '\\x00'::bytea`;

describe('replacing mostly changed pages', () => {
  it('after a page that changed most of its rows, the next ones are one script: DELETE of their keys, COPY, checkpoint; the target ends equal, every type', async () => {
    await sql(fx.db.url, TYPED_SOURCE);
    const { sink, columns } = await sinkOn(['id']);
    expect(sink.replaceBlocker).toBeUndefined();
    await sql(fx.db.url, `${CHANGE_ALL}; UPDATE src.t SET price = 'Infinity', ratio = 'NaN', flag = NULL, tags = '{}' WHERE id = 700`);
    const first = await statements(async () => {
      const p = await page(columns, 'id <= 500');
      return sink.writeCopy(p.data, p.count, commit);
    });
    expect(first.result).toEqual({ written: 500 }); // the conflict, then the staged upsert: all of them changed
    expect(first.sent.some(isStaged)).toBe(true);
    for (const where of ['id > 500 AND id <= 1000', 'id > 1000']) {
      const p = await page(columns, where, 'at, id');
      const { result, sent } = await statements(() => sink.writeCopy(p.data, p.count, commit));
      expect(result).toEqual({ written: 500 });
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(new RegExp(`^${GUARD}${String.raw`DELETE FROM "dst"\."t" t WHERE t\."id" = ANY\('\{[0-9,]+\}'::bigint\[\]\); COPY "dst"\."t" \("id", .*\) FROM STDIN; SELECT 1; COMMIT$`}`, 's'));
    }
    expect(await differing()).toBe(0);
    expect(Number((await sql<{ n: string }>(fx.db.url, 'SELECT count(*)::text AS n FROM dst.t'))[0]!.n)).toBe(1500);
  });

  it('a composite key of awkward text is deleted through unnest and every row lands once', async () => {
    const names = [`o'brien`, 'back\\slash', 'tab\there', 'new\nline', '{braces}', 'NULL', '', 'ünï', ' lead', 'a,b', '"q"'];
    await sql(fx.db.url, `CREATE TABLE src.t (name text, n int, v text, PRIMARY KEY (name, n))`);
    await sql(fx.db.url, `INSERT INTO src.t SELECT name, n, 'v1' FROM unnest($1::text[]) name, generate_series(1, 20) n`, [names]);
    const { sink, columns } = await sinkOn(['name', 'n']);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v2 ' || name`);
    const a = await page(columns, 'n <= 10', 'name, n');
    await sink.writeCopy(a.data, a.count, commit);
    const b = await page(columns, 'n > 10', 'name, n');
    const { result, sent } = await statements(() => sink.writeCopy(b.data, b.count, commit));
    expect(result).toEqual({ written: names.length * 10 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(new RegExp(`^${GUARD}${String.raw`DELETE FROM "dst"\."t" t USING unnest\(.*::text\[\], .*::integer\[\]\) AS tm_keys\(k0, k1\) WHERE t\."name" = tm_keys\.k0 AND t\."n" = tm_keys\.k1; COPY `}`, 's'));
    expect(await differing()).toBe(0);
  });

  const blockers: [string, string, RegExp][] = [
    ['a column of its own', `ALTER TABLE dst.t ADD COLUMN synced_at timestamptz NOT NULL DEFAULT '2020-01-01'`, /has 4 columns and pages write 3/],
    ['a trigger', `CREATE FUNCTION dst.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER audit BEFORE UPDATE ON dst.t FOR EACH ROW EXECUTE FUNCTION dst.audit()`, /triggers/],
    ['a foreign key to it', `CREATE TABLE dst.child (id int PRIMARY KEY REFERENCES dst.t (id) ON DELETE CASCADE); INSERT INTO dst.child SELECT id FROM dst.t`, /foreign key/],
    ['a rule', `CREATE RULE keep AS ON DELETE TO dst.t WHERE old.id < 0 DO INSTEAD NOTHING`, /rules/],
    ['a publication', `CREATE PUBLICATION tm_pub FOR TABLE dst.t`, /publication/],
  ];
  for (const [what, ddl, reason] of blockers) {
    it(`a target with ${what} keeps the upsert, whatever its pages change`, async () => {
      await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, v text, w int); INSERT INTO src.t SELECT g, 'v1', g FROM generate_series(1, 300) g`);
      await sql(fx.db.url, `CREATE TABLE dst.t (id int PRIMARY KEY, v text, w int)`);
      const columns = (await describeTable(fx.reader, { schema: 'src', name: 't' }, 'source'))!.columns;
      await sql(fx.db.url, `INSERT INTO dst.t SELECT * FROM src.t; ${ddl}`);
      const sink = new PostgresSink(fx.client, { kind: 'postgres', url: fx.db.url, table: 'dst.t', key: ['id'] } as never);
      await sink.prepare(columns, { keyUniqueInPage: true });
      expect(sink.replaceBlocker).toMatch(reason);
      await sql(fx.db.url, `UPDATE src.t SET v = 'v2'`);
      for (const where of ['id <= 100', 'id > 100 AND id <= 200', 'id > 200']) {
        const p = await page(columns, where);
        const { result, sent } = await statements(() => sink.writeCopy(p.data, p.count, commit));
        expect(result).toEqual({ written: 100 });
        expect(sent.some(isReplace)).toBe(false);
        expect(sent.some(isStaged)).toBe(true);
      }
      expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM dst.t WHERE v = 'v2'`)).toEqual([{ n: 300 }]);
      if (what === 'a column of its own') expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM dst.t WHERE synced_at = '2020-01-01'`)).toEqual([{ n: 300 }]);
      if (what === 'a foreign key to it') expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM dst.child`)).toEqual([{ n: 300 }]);
    });
  }

  it('a foreign key, a trigger or a column added to the target while a run replaces pages: the next page is upserted, nothing cascades', async () => {
    for (const [what, ddl, check, expected] of [
      ['a foreign key to it', `CREATE TABLE dst.child (id int PRIMARY KEY REFERENCES dst.t (id) ON DELETE CASCADE); INSERT INTO dst.child SELECT id FROM dst.t`, `SELECT count(*)::int AS n FROM dst.child`, 400],
      ['a trigger', `CREATE TABLE dst.seen (op text); CREATE FUNCTION dst.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO dst.seen VALUES (TG_OP); RETURN NULL; END $$; CREATE TRIGGER audit AFTER DELETE ON dst.t FOR EACH ROW EXECUTE FUNCTION dst.audit()`, `SELECT count(*)::int AS n FROM dst.seen`, 0],
    ] as const) {
      // FK: every child row stays (none cascaded); trigger: it saw no DELETE.
      await sql(fx.db.url, `DROP SCHEMA IF EXISTS src CASCADE; DROP SCHEMA IF EXISTS dst CASCADE; CREATE SCHEMA src; CREATE SCHEMA dst`);
      await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, v text); INSERT INTO src.t SELECT g, 'v1' FROM generate_series(1, 400) g`);
      const { sink, columns } = await sinkOn(['id']);
      await sql(fx.db.url, `UPDATE src.t SET v = 'v2'`);
      const first = await page(columns, 'id <= 100');
      await sink.writeCopy(first.data, first.count, commit); // all changed: the next pages would be replaced
      const second = await page(columns, 'id > 100 AND id <= 200');
      expect((await statements(() => sink.writeCopy(second.data, second.count, commit))).sent.some(isReplace), what).toBe(true);
      await sql(fx.db.url, ddl); // the run goes on, prepared before it
      for (const where of ['id > 200 AND id <= 300', 'id > 300']) {
        const p = await page(columns, where);
        const { result } = await statements(() => sink.writeCopy(p.data, p.count, commit));
        expect(result, what).toEqual({ written: 100 });
      }
      expect(sink.replaceBlocker, what).toMatch(/the target changed during the run/);
      expect(await sql(fx.db.url, check), what).toEqual([{ n: expected }]);
      expect(await differing(), what).toBe(0);
    }
  });

  it('a target with inheritance children (INHERITS): pages are upserted into it, never compared with or deleted from its children', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, v text); INSERT INTO src.t SELECT g, 'v1' FROM generate_series(1, 200) g`);
    await sql(fx.db.url, `CREATE TABLE dst.t (id int PRIMARY KEY, v text); CREATE TABLE dst.t_old () INHERITS (dst.t);
      INSERT INTO dst.t SELECT g, 'v1' FROM generate_series(1, 100) g; INSERT INTO dst.t_old SELECT g, 'v1' FROM generate_series(101, 200) g`);
    const columns = (await describeTable(fx.reader, { schema: 'src', name: 't' }, 'source'))!.columns;
    const sink = new PostgresSink(fx.client, { kind: 'postgres', url: fx.db.url, table: 'dst.t', key: ['id'] } as never);
    await sink.prepare(columns, { keyUniqueInPage: true });
    expect(sink.replaceBlocker).toBe('it has inheritance children');
    for (const where of ['id <= 100', 'id > 100']) {
      const p = await page(columns, where);
      await sink.writeCopy(p.data, p.count, commit); // the first finds its rows unchanged; the second's equal rows are the child's
    }
    expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM ONLY dst.t`)).toEqual([{ n: 200 }]);
    expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM ONLY dst.t_old`)).toEqual([{ n: 100 }]);
  });

  it('a target whose shape the server cannot tell (here: gone; before PostgreSQL 12: no pg_partition_tree) keeps the upsert, the session usable', async () => {
    expect((await replaceBlockers(fx.client, { schema: 'dst', name: 'missing' }, ['id'], ['id'])).replace).toMatch(/^the target's shape could not be read \(relation "dst\.missing" does not exist\)$/);
    expect(await sql(fx.db.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect((await fx.client.query('SELECT 1 AS one')).rows).toEqual([{ one: '1' }]);
  });

  it('sink.replacePages: false keeps the upsert on a target that would allow replacing; a value not a boolean is refused by name', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, v text); INSERT INTO src.t SELECT g, 'v1' FROM generate_series(1, 200) g`);
    const columns = (await describeTable(fx.reader, { schema: 'src', name: 't' }, 'source'))!.columns;
    const cfg = postgresSinkOf(parseConfig({ integrations: [{ id: 'r', source: { kind: 'postgres', url: fx.db.url, table: 'src.t', cursor: ['id'] }, sink: { url: fx.db.url, table: 'dst.t', key: ['id'], create: true, replacePages: false } }] }).integrations[0]!, 'test');
    const sink = new PostgresSink(fx.client, cfg);
    await sink.prepare(columns, { keyUniqueInPage: true });
    expect(sink.replaceBlocker).toBe('sink.replacePages is false');
    const all = await page(columns);
    await sink.writeCopy(all.data, all.count, commit);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v2'`);
    for (const where of ['id <= 100', 'id > 100']) {
      const p = await page(columns, where);
      const { sent } = await statements(() => sink.writeCopy(p.data, p.count, commit));
      expect(sent.some(isReplace)).toBe(false);
    }
    expect(await differing()).toBe(0);
    expect(() => parseConfig({ integrations: [{ id: 'r', source: { kind: 'postgres', url: fx.db.url, table: 'src.t', cursor: ['id'] }, sink: { url: fx.db.url, table: 'dst.t', key: ['id'], replacePages: 'yes' } }] })).toThrow(
      /integrations\[0\]\.sink\.replacePages/,
    );
  });

  it('a key repeated in the page or NULL goes through the staged upsert (the last row wins) and the next page is replaced again', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int, v text); INSERT INTO src.t SELECT g, 'v1' FROM generate_series(1, 300) g`);
    const { sink, columns } = await sinkOn(['id'], `CREATE TABLE dst.t (id int UNIQUE, v text)`);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v2'`);
    const a = await page(columns, 'id <= 100');
    await sink.writeCopy(a.data, a.count, commit);
    const b = await page(columns, 'id > 100 AND id <= 200');
    const twice = Buffer.concat([b.data, Buffer.from('150\tlast\n')]);
    const repeated = await statements(() => sink.writeCopy(twice, b.count + 1, commit));
    expect(repeated.sent.some(isReplace)).toBe(false);
    expect(repeated.sent.some(isStaged)).toBe(true);
    expect(await sql(fx.db.url, 'SELECT v FROM dst.t WHERE id = 150')).toEqual([{ v: 'last' }]);
    const c = await page(columns, 'id > 200');
    const withNull = Buffer.concat([c.data, Buffer.from('\\N\tnull key\n')]);
    expect((await statements(() => sink.writeCopy(withNull, c.count + 1, commit))).sent.some(isReplace)).toBe(false);
    expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM dst.t WHERE id IS NULL`)).toEqual([{ n: 1 }]);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v3' WHERE id > 200`);
    const d = await page(columns, 'id > 200');
    const again = await statements(() => sink.writeCopy(d.data, d.count, commit));
    expect(again.sent).toHaveLength(1);
    expect(isReplace(again.sent[0]!)).toBe(true);
    expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM dst.t WHERE v = 'v3'`)).toEqual([{ n: 100 }]);
  });

  it('a unique violation on another index rolls the page back, fails as the upsert does, and stops replacing', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, code text, v text); INSERT INTO src.t SELECT g, 'c' || g, 'v1' FROM generate_series(1, 300) g`);
    const { sink, columns } = await sinkOn(['id'], `CREATE TABLE dst.t (id int PRIMARY KEY, code text UNIQUE, v text)`);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v2'`);
    const a = await page(columns, 'id <= 100');
    await sink.writeCopy(a.data, a.count, commit);
    await sql(fx.db.url, `UPDATE src.t SET code = 'c250' WHERE id = 150`); // row 250, outside the page, keeps c250
    const before = await xmins();
    const b = await page(columns, 'id > 100 AND id <= 200');
    const { sent, result } = await statements(() => sink.writeCopy(b.data, b.count, commit).catch((e: unknown) => e));
    expect(result).toMatchObject({ code: '23505', constraint: 't_code_key' });
    expect(sent.some(isReplace)).toBe(true);
    expect(sent.some(isStaged)).toBe(true);
    expect(sink.replaceBlocker).toMatch(/unique violation/);
    expect(await xmins()).toEqual(before);
  });

  it('a value the column refuses fails with the staged write’s error (its COPY line), and replacing goes on', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, n text); INSERT INTO src.t SELECT g, g::text FROM generate_series(1, 300) g`);
    const { sink, columns } = await sinkOn(['id'], `CREATE TABLE dst.t (id int PRIMARY KEY, n int)`);
    await sql(fx.db.url, `UPDATE src.t SET n = (id + 1000)::text`);
    const a = await page(columns, 'id <= 100');
    await sink.writeCopy(a.data, a.count, commit);
    await sql(fx.db.url, `UPDATE src.t SET n = 'twelve' WHERE id = 112`);
    const b = await page(columns, 'id > 100 AND id <= 200');
    const err = (await sink.writeCopy(b.data, b.count, commit).catch((e: unknown) => e)) as { code?: string; where?: string };
    expect(err.code).toBe('22P02');
    expect(err.where).toMatch(/^COPY tm_stage_[0-9a-f]+, line 12, column n: "twelve"/);
    expect(sink.replaceBlocker).toBeUndefined();
  });

  it('rows the target refuses in a replaced page are set aside; the rest commits replaced', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, amount int); INSERT INTO src.t SELECT g, g FROM generate_series(1, 300) g`);
    const { sink, columns } = await sinkOn(['id'], `CREATE TABLE dst.t (id int PRIMARY KEY, amount int CHECK (amount < 100000))`);
    await sql(fx.db.url, `UPDATE src.t SET amount = amount + 1000`);
    const a = await page(columns, 'id <= 100');
    await sink.writeCopy(a.data, a.count, commit);
    await sql(fx.db.url, `UPDATE src.t SET amount = 100000 + id WHERE id IN (120, 180)`);
    const b = await page(columns, 'id > 100 AND id <= 200');
    const { result, sent } = await statements(() => writeIsolatingBadRows(sink, b.data, b.count, async () => undefined, 'dst.t'));
    expect(result.bad.map((r) => r.index)).toEqual([19, 79]);
    expect(result.bad.every((r) => r.error.code === '23514')).toBe(true);
    expect(result.result).toEqual({ written: 98 });
    // The first try, the probes and the rest's write replace.
    expect(sent.filter(isReplace).length).toBeGreaterThan(4);
    expect(await sql(fx.db.url, `SELECT count(*)::int AS n FROM dst.t WHERE amount > 1000`)).toEqual([{ n: 98 + 100 }]);
    expect(await sql(fx.db.url, `SELECT amount FROM dst.t WHERE id IN (120, 180) ORDER BY id`)).toEqual([{ amount: 120 }, { amount: 180 }]) // as before: set aside, not written;
  });

  it('when pages stop changing, the checked page after 8 replaced ones finds it and the rest are compared, not rewritten', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, v text); INSERT INTO src.t SELECT g, 'v1' FROM generate_series(1, 1500) g`);
    const { sink, columns } = await sinkOn(['id']);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v2' WHERE id <= 300`);
    const before = await xmins();
    const kinds: string[] = [];
    for (let p = 0; p < 15; p++) {
      const pg = await page(columns, `id > ${p * 100} AND id <= ${(p + 1) * 100}`);
      const { result, sent } = await statements(() => sink.writeCopy(pg.data, pg.count, commit));
      kinds.push(`${sent.some(isReplace) ? 'replace' : sent.some(isStaged) ? 'staged' : 'compared'}:${result.written}`);
    }
    // Page 1 staged (after the conflict), 2–9 replaced (4–9 rewrite unchanged rows), 10 checked: nothing changed, so compared from then on.
    expect(kinds).toEqual(['staged:100', ...Array.from({ length: 8 }, () => 'replace:100'), 'staged:0', ...Array.from({ length: 5 }, () => 'compared:0')]);
    const after = await xmins();
    const touched = [...after.keys()].filter((k) => after.get(k) !== before.get(k)).map(Number);
    expect(Math.max(...touched)).toBe(900);
    expect(await differing()).toBe(0);
  });

  it('after a page that changed 60 % of its rows the next is upserted (its unchanged rows untouched); from 90 % on, replaced', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, v text); INSERT INTO src.t SELECT g, 'v1' FROM generate_series(1, 400) g`);
    const { sink, columns } = await sinkOn(['id']);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v2' WHERE id % 10 < 6 OR id > 200`);
    const before = await xmins();
    const kinds: string[] = [];
    for (let p = 0; p < 4; p++) {
      const pg = await page(columns, `id > ${p * 100} AND id <= ${(p + 1) * 100}`);
      const { result, sent } = await statements(() => sink.writeCopy(pg.data, pg.count, commit));
      kinds.push(`${sent.some(isReplace) ? 'replace' : 'staged'}:${result.written}`);
    }
    expect(kinds).toEqual(['staged:60', 'staged:60', 'staged:100', 'replace:100']);
    const after = await xmins();
    const touched = [...after.keys()].filter((k) => after.get(k) !== before.get(k)).map(Number);
    expect(touched.filter((id) => id <= 200).every((id) => id % 10 < 6)).toBe(true);
    expect(await differing()).toBe(0);
  });

  it('while pages keep changing, the check comes half as often: after 8 replaced pages, then 16', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id int PRIMARY KEY, v text); INSERT INTO src.t SELECT g, 'v1' FROM generate_series(1, 2800) g`);
    const { sink, columns } = await sinkOn(['id']);
    await sql(fx.db.url, `UPDATE src.t SET v = 'v2'`);
    const kinds: string[] = [];
    for (let p = 0; p < 28; p++) {
      const pg = await page(columns, `id > ${p * 100} AND id <= ${(p + 1) * 100}`);
      const { result, sent } = await statements(() => sink.writeCopy(pg.data, pg.count, commit));
      kinds.push(`${sent.some(isReplace) ? 'replace' : 'staged'}:${result.written}`);
    }
    const replaced = (n: number) => Array.from({ length: n }, () => 'replace:100');
    expect(kinds).toEqual(['staged:100', ...replaced(8), 'staged:100', ...replaced(16), 'staged:100', 'replace:100']);
    expect(await differing()).toBe(0);
  });
});
