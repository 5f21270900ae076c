import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyIn } from '../../src/pg/copy-in';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * copyIn sends a page's script, its COPY data and CopyDone at once (no wait for CopyInResponse): checked
 * for data of many messages, and for failures before the COPY, inside it and after it — each reported with
 * its SQLSTATE, nothing after the failure run, the data sent ahead ignored by the server, the connection
 * usable after each.
 */
let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('copy_in');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE TABLE t (id int PRIMARY KEY, body text)');
  await client.query('CREATE TABLE marks (what text)');
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});
beforeEach(async () => {
  await client.query('TRUNCATE t, marks');
});

/** COPY text of rows `from`..`to` (ids), each with a body of `width` bytes with escapes in some. */
function rows(from: number, to: number, width = 40): Buffer {
  const lines: string[] = [];
  for (let i = from; i <= to; i++) lines.push(`${i}\t${i % 11 === 0 ? '\\N' : `${'x'.repeat(width)}\\t${i}\\n`}`);
  return Buffer.from(lines.map((l) => `${l}\n`).join(''));
}

const PAGE = (sqlAfter = '') => `BEGIN; COPY t (id, body) FROM STDIN; INSERT INTO marks VALUES ('after')${sqlAfter}; COMMIT`;
const count = async (table: string) => Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]?.n);
const stillUsable = async () => expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);
/** What the sink does after a failed page: roll back (the transaction may be aborted or already gone). */
const rollBack = () => client.query('ROLLBACK').catch(() => undefined);

describe('copyIn', () => {
  it('writes every row of data spanning several messages (> 1 MiB), then runs the statements after it', async () => {
    const data = rows(1, 60_000, 60); // ~4.2 MB: 3 messages of 1 MiB and a part
    expect(data.length).toBeGreaterThan(3 * (1 << 20));
    await copyIn(client, PAGE(), data);
    expect(await count('t')).toBe(60_000);
    expect(await count('marks')).toBe(1);
    const r = await client.query<{ s: string; nulls: string }>(`SELECT sum(id)::text AS s, count(*) FILTER (WHERE body IS NULL)::text AS nulls FROM t`);
    expect(r.rows[0]).toEqual({ s: String((60_000 * 60_001) / 2), nulls: String(Math.floor(60_000 / 11)) });
    expect((await client.query('SELECT body FROM t WHERE id = 7')).rows[0]).toEqual({ body: `${'x'.repeat(60)}\t7\n` });
    await stillUsable();
  });

  it('empty data: a COPY of no rows, the script runs on', async () => {
    await copyIn(client, PAGE(), Buffer.alloc(0));
    expect(await count('t')).toBe(0);
    expect(await count('marks')).toBe(1);
  });

  it('a failure before the COPY: its error, the data sent ahead ignored, nothing written', async () => {
    const err = await copyIn(client, `BEGIN; SELECT 1 / 0; COPY t (id, body) FROM STDIN; COMMIT`, rows(1, 20_000)).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22012');
    await rollBack();
    expect(await count('t')).toBe(0);
    await stillUsable();
  });

  it('a COPY into a missing table: 42P01, connection usable', async () => {
    const err = await copyIn(client, `BEGIN; COPY nowhere (id) FROM STDIN; COMMIT`, rows(1, 10)).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('42P01');
    await rollBack();
    await stillUsable();
  });

  it('a bad row in the middle of many messages: 22P02 naming it, the statements after it not run, nothing kept', async () => {
    const data = Buffer.concat([rows(1, 30_000, 60), Buffer.from('oops\tx\n'), rows(30_001, 60_000, 60)]);
    const err = await copyIn(client, PAGE(), data).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22P02');
    expect(String((err as Error).message)).toMatch(/oops/);
    await rollBack();
    expect(await count('t')).toBe(0);
    expect(await count('marks')).toBe(0);
    await stillUsable();
  });

  it('a key already there: 23505 (the sink then upserts), the page rolled back whole', async () => {
    await client.query(`INSERT INTO t VALUES (5000, 'there')`);
    const err = await copyIn(client, PAGE(), rows(1, 10_000)).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('23505');
    await rollBack();
    expect(await count('t')).toBe(1);
    // The same connection then writes the next page normally.
    await copyIn(client, PAGE(), rows(10_001, 10_100));
    expect(await count('t')).toBe(101);
  });

  it('a failure after the COPY (a statement of the script): its error, the COPY rolled back with it', async () => {
    const err = await copyIn(client, PAGE('; SELECT 1 / 0'), rows(1, 1_000)).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22012');
    await rollBack();
    expect(await count('t')).toBe(0);
    await stillUsable();
  });

  it('pages written one after another on one connection, and queued behind other queries, stay in order', async () => {
    const writes = [copyIn(client, PAGE(), rows(1, 5_000)), client.query(`INSERT INTO marks VALUES ('between')`), copyIn(client, PAGE(), rows(5_001, 10_000))];
    await Promise.all(writes);
    expect(await count('t')).toBe(10_000);
    expect(await count('marks')).toBe(3);
  });
});
