import { describe, expect, it } from 'vitest';
import { writeIsolatingBadRows } from '../../src/activities/isolate-bad-rows';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { describeTable } from '../../src/sources/postgres/describe-table';
import type { ColumnSpec } from '../../src/sources/source';
import { sql } from '../helpers/fixtures';
import { commit, sinkSessions, TYPED_SOURCE } from '../helpers/sink-pages';

/**
 * A re-sync's pages compared with the target's text before anything is written (issue 16, unchanged-rows.ts):
 * the source's COPY text against the target's rows read back as COPY text on the sink's session. What must
 * hold: equal rows cost no write and no staging, every other row still reaches the upsert (changed, new,
 * repeated within the page, same value in other text), keys of any text are found, and a key the key's type
 * refuses fails as the staged write does.
 */
const fx = sinkSessions('unchanged_rows');
const { statements, page, xmins } = fx;

/** A sink on dst.t filled from src.t, then one page equal to it through the staged upsert: the next page is compared first. */
async function filledSink(key: string[], keyUniqueInPage = true): Promise<{ sink: PostgresSink; columns: ColumnSpec[] }> {
  const columns = (await describeTable(fx.reader, { schema: 'src', name: 't' }, 'source'))!.columns;
  const sink = new PostgresSink(fx.client, { kind: 'postgres', url: fx.db.url, table: 'dst.t', key, create: true } as never);
  await sink.prepare(columns, { keyUniqueInPage });
  const all = await page(columns, 'true', key.join(', '));
  expect(await sink.writeCopy(all.data, all.count, commit)).toEqual({ written: all.count });
  expect(await sink.writeCopy(all.data, all.count, commit)).toEqual({ written: 0 }); // a conflict: staged from now on
  return { sink, columns };
}

describe('comparing a page with the target before writing it', () => {
  it('a page equal to the target is read back, not staged: nothing written, no row touched, two round trips', async () => {
    await sql(fx.db.url, TYPED_SOURCE);
    const { sink, columns } = await filledSink(['id']);
    const before = await xmins();
    const all = await page(columns, 'true', 'at, id');
    const { result, sent } = await statements(() => sink.writeCopy(all.data, all.count, commit));
    expect(result).toEqual({ written: 0 });
    expect(sent).toHaveLength(2);
    // Keys that fill their range are read as the range.
    expect(sent[0]).toMatch(/^COPY \(SELECT t\."id", .* FROM "dst"\."t" t WHERE t\."id" BETWEEN 1 AND 1500\) TO STDOUT$/s);
    expect(sent[1]).toBe('BEGIN; SELECT 1; COMMIT');
    // Scattered keys (here every 7th, which leaves most of the range out) as the list.
    const sparse = await page(columns, 'id % 7 = 0', 'at, id');
    const listed = await statements(() => sink.writeCopy(sparse.data, sparse.count, commit));
    expect(listed.result).toEqual({ written: 0 });
    expect(listed.sent).toHaveLength(2);
    expect(listed.sent[0]).toMatch(/ WHERE t\."id" = ANY\('\{7,14,21,.*,1498\}'::bigint\[\]\)\) TO STDOUT$/s);
    expect(await xmins()).toEqual(before);
    // A range with rows the page does not have: they come along and are ignored; the one changed row is written.
    await sql(fx.db.url, `UPDATE src.t SET note = 'changed' WHERE id = 500`);
    const gappy = await page(columns, 'id % 3 <> 0', 'at, id');
    const ranged = await statements(() => sink.writeCopy(gappy.data, gappy.count, commit));
    expect(ranged.sent[0]).toMatch(/ BETWEEN 1 AND 1499\) TO STDOUT$/);
    expect(ranged.result).toEqual({ written: 1 });
    const after = await xmins();
    expect([...after.keys()].filter((k) => after.get(k) !== before.get(k))).toEqual(['500']);
  });

  it('changed rows, new keys, NULL ↔ empty and a key repeated in the page reach the upsert; exactly they are written', async () => {
    await sql(fx.db.url, TYPED_SOURCE);
    const { sink, columns } = await filledSink(['id'], false);
    const before = await xmins();
    await sql(
      fx.db.url,
      `UPDATE src.t SET amount = amount + 0.01 WHERE id IN (10, 20, 30);
       UPDATE src.t SET note = '' WHERE id = 5; UPDATE src.t SET note = NULL WHERE id = 7;
       UPDATE src.t SET doc = '{"n": 40, "s": "x40", "new": true}' WHERE id = 40;
       UPDATE src.t SET at = at + interval '1 microsecond' WHERE id = 50;
       INSERT INTO src.t (id, note) VALUES (2001, 'new'), (2002, NULL)`,
    );
    const all = await page(columns);
    // Key 60 twice: changed then as it is (the last wins: nothing to write); key 70: as it is then changed.
    const [row60, row70] = await Promise.all([page(columns, 'id = 60'), page(columns, 'id = 70')]);
    const changed70 = Buffer.from(row70.data.toString().replace(/\tt\t/, '\tf\t'));
    const changed60 = Buffer.from(row60.data.toString().replace(/^60\t[0-9.]+/, '60\t1.00'));
    const data = Buffer.concat([all.data, changed60, row60.data, row70.data, changed70]);
    expect(changed70.equals(row70.data)).toBe(false);
    const { result, sent } = await statements(() => sink.writeCopy(data, all.count + 4, commit));
    expect(result).toEqual({ written: 3 + 2 + 1 + 1 + 2 + 1 });
    expect(sent[0]).toMatch(/^COPY \(SELECT/);
    expect(sent.some((s) => /^BEGIN; COPY pg_temp\./.test(s))).toBe(true);
    const [diff] = await sql<{ n: string }>(
      fx.db.url,
      `SELECT count(*)::text AS n FROM ((SELECT * FROM src.t EXCEPT SELECT * FROM dst.t) UNION ALL (SELECT * FROM dst.t EXCEPT SELECT * FROM src.t)) d`,
    );
    expect(diff).toEqual({ n: '2' }); // row 70 is now the page's last version (flag false), which src.t does not have
    expect(await sql(fx.db.url, 'SELECT flag::text, amount::text FROM dst.t WHERE id IN (60, 70) ORDER BY id')).toEqual([
      { flag: 'true', amount: '75.00' },
      { flag: 'false', amount: '87.50' },
    ]);
    const after = await xmins();
    const touched = [...after.keys()].filter((k) => before.get(k) !== after.get(k));
    expect(touched.map(Number).sort((a, b) => a - b)).toEqual([5, 7, 10, 20, 30, 40, 50, 70, 2001, 2002]);
  });

  it('finds keys of any text, one column or several (quotes, backslashes, tabs, newlines, braces, "NULL", empty, non-ASCII)', async () => {
    const tenants = [`a"b`, `c\\d`, `tab\there`, `new\nline`, `{x,y}`, `NULL`, ``, `ü ñ 日本`, ` lead`, `a,b`];
    await sql(fx.db.url, 'CREATE TABLE src.t (tenant text, id integer, v text, PRIMARY KEY (tenant, id))');
    await sql(fx.db.url, `INSERT INTO src.t SELECT tn, g, 'v' || g FROM unnest($1::text[]) tn, generate_series(1, 3) g`, [tenants]);
    const { sink, columns } = await filledSink(['tenant', 'id']);
    const before = await xmins(`tenant || '/' || id`);
    const all = await page(columns, 'true', 'id, tenant');
    const same = await statements(() => sink.writeCopy(all.data, all.count, commit));
    expect(same.result).toEqual({ written: 0 });
    expect(same.sent[0]).toMatch(/JOIN unnest\(.*::text\[\], .*::integer\[\]\) AS tm_keys\(k0, k1\) ON t\."tenant" = tm_keys\.k0 AND t\."id" = tm_keys\.k1/s);
    expect(same.sent).toHaveLength(2);
    expect(await xmins(`tenant || '/' || id`)).toEqual(before);

    await sql(fx.db.url, `UPDATE src.t SET v = 'changed' WHERE (tenant, id) IN ((E'c\\\\d', 1), ('NULL', 2), ('', 3), (E'tab\\there', 1))`);
    const next = await page(columns, 'true', 'id, tenant');
    expect(await sink.writeCopy(next.data, next.count, commit)).toEqual({ written: 4 });
    expect(await sql(fx.db.url, `SELECT tenant, id::text FROM dst.t WHERE v = 'changed' ORDER BY tenant, id`)).toEqual([
      { tenant: '', id: '3' },
      { tenant: 'NULL', id: '2' },
      { tenant: 'c\\d', id: '1' },
      { tenant: 'tab\there', id: '1' },
    ]);
  });

  it('a key its type refuses fails as the staged write does, and the connection goes on', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id bigint PRIMARY KEY, v text); INSERT INTO src.t SELECT g, 'v' || g FROM generate_series(1, 100) g`);
    const { sink, columns } = await filledSink(['id']);
    const bad = Buffer.from('1\tv1\nabc\tv2\n');
    await expect(sink.writeCopy(bad, 2, commit)).rejects.toMatchObject({ code: '22P02' });
    const all = await page(columns);
    expect(await sink.writeCopy(all.data, all.count, commit)).toEqual({ written: 0 });
    expect((await fx.client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: '1' }]);
  });

  it('a compared page with rows the target refuses: those go aside, the changed rows commit, the unchanged stay untouched', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id bigint PRIMARY KEY, v integer); INSERT INTO src.t SELECT g, g FROM generate_series(1, 1000) g`);
    const { sink, columns } = await filledSink(['id']);
    await sql(fx.db.url, 'ALTER TABLE dst.t ADD CONSTRAINT v_small CHECK (v < 5000)');
    const before = await xmins();
    await sql(fx.db.url, 'UPDATE src.t SET v = v + 10000 WHERE id IN (10, 20, 30); UPDATE src.t SET v = -v WHERE id IN (40, 50)');
    const all = await page(columns);
    const { result, bad } = await writeIsolatingBadRows(sink, all.data, all.count, async () => undefined, 'test page');
    expect(bad.map((b) => b.index).sort((a, b) => a - b)).toEqual([9, 19, 29]);
    expect(bad[0]?.error.code).toBe('23514');
    expect(result).toEqual({ written: 2 });
    expect(await sql(fx.db.url, 'SELECT id::text, v::text FROM dst.t WHERE id IN (10, 40, 50) ORDER BY id')).toEqual([
      { id: '10', v: '10' },
      { id: '40', v: '-40' },
      { id: '50', v: '-50' },
    ]);
    const after = await xmins();
    expect([...after.keys()].filter((k) => after.get(k) !== before.get(k)).sort()).toEqual(['40', '50']);
  });

  it('equal values in other text (another type, another format): the comparison stops itself and the staged one takes over', async () => {
    await sql(fx.db.url, `CREATE TABLE src.t (id bigint PRIMARY KEY, amount numeric); INSERT INTO src.t SELECT g, g + 0.5 FROM generate_series(1, 200) g`);
    await sql(fx.db.url, 'CREATE TABLE dst.t (id bigint PRIMARY KEY, amount numeric(10, 2))'); // prints 1.50 where the source has 1.5
    const { sink, columns } = await filledSink(['id']);
    const all = await page(columns);
    const first = await statements(() => sink.writeCopy(all.data, all.count, commit));
    expect(first.result).toEqual({ written: 0 });
    expect(first.sent[0]).toMatch(/^COPY \(SELECT/); // compared: no row's text equal, all went to the upsert
    const second = await statements(() => sink.writeCopy(all.data, all.count, commit));
    expect(second.result).toEqual({ written: 0 });
    expect(second.sent.some((s) => s.startsWith('COPY (SELECT'))).toBe(false);
    expect(second.sent.some((s) => /^BEGIN; COPY pg_temp\./.test(s))).toBe(true);
  });
});
