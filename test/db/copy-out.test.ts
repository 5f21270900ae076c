import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOut } from '../../src/pg/copy-out';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * copyOut reads COPY TO's protocol messages itself (one Buffer a page, no allocation per row): checked
 * byte for byte against pg-copy-streams' `to`, across socket chunk boundaries, with interleaved notices,
 * errors in mid-stream and a cancel, and the connection usable after each.
 */
let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('copy_out');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

async function reference(sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of client.query(copyTo(sql))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const stillUsable = async () => expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);

describe('copyOut', () => {
  it('returns exactly what COPY sends and its row count, for rows of every width across socket chunks', async () => {
    // Rows from 1 byte to ~3,000 (a tab, newline and backslash in some: escapes), and NULLs.
    const sql = `COPY (SELECT x, CASE WHEN x % 97 = 0 THEN NULL ELSE repeat(chr(65 + x % 26), x % 3000) END,
                   CASE WHEN x % 13 = 0 THEN E'a\\tb\\nc\\\\d' ELSE '' END FROM generate_series(1, 60000) x) TO STDOUT`;
    const got = await copyOut(client, sql);
    const want = await reference(sql);
    expect(got.rows).toBe(60_000);
    expect(got.data.length).toBe(want.length);
    expect(got.data.equals(want)).toBe(true);
    // A size hint smaller or larger than the output changes nothing.
    for (const hint of [1, want.length, want.length * 3]) expect((await copyOut(client, sql, hint)).data.equals(want)).toBe(true);
    await stillUsable();
  });

  it('a row larger than a socket chunk (4 MB) and an empty result', async () => {
    const big = await copyOut(client, `COPY (SELECT 1, repeat('x', 4 * 1024 * 1024)) TO STDOUT`);
    expect(big.rows).toBe(1);
    expect(big.data.length).toBe(2 + 4 * 1024 * 1024 + 1);
    expect(big.data.subarray(0, 2).toString()).toBe('1\t');
    const none = await copyOut(client, 'COPY (SELECT 1 WHERE false) TO STDOUT');
    expect(none).toEqual({ data: Buffer.alloc(0), rows: 0 });
    await stillUsable();
  });

  it('notices sent between rows are skipped, the rows kept', async () => {
    await client.query(`CREATE FUNCTION noisy(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF x % 100 = 0 THEN RAISE NOTICE 'row %', x; END IF; RETURN x; END $$`);
    const notices: string[] = [];
    const onNotice = (n: { message?: string }) => notices.push(String(n.message));
    client.on('notice', onNotice);
    try {
      const sql = 'COPY (SELECT noisy(x), md5(x::text) FROM generate_series(1, 5000) x) TO STDOUT';
      const got = await copyOut(client, sql);
      expect(got.rows).toBe(5000);
      expect(got.data.equals(await reference(sql))).toBe(true);
    } finally {
      client.off('notice', onNotice);
    }
    await stillUsable();
  });

  it('an error in mid-stream rejects with the server error; the connection goes on', async () => {
    const sql = 'COPY (SELECT CASE WHEN x = 40000 THEN 1 / (x - x) ELSE x END, md5(x::text) FROM generate_series(1, 50000) x) TO STDOUT';
    await expect(copyOut(client, sql)).rejects.toMatchObject({ code: '22012', message: 'division by zero' });
    await stillUsable();
    await expect(copyOut(client, 'COPY (SELECT no_such_column FROM generate_series(1, 3)) TO STDOUT')).rejects.toMatchObject({ code: '42703' });
    await stillUsable();
  });

  it('a statement cancelled from another connection rejects (57014); the connection goes on', async () => {
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const reading = copyOut(client, 'COPY (SELECT x, pg_sleep(CASE WHEN x = 2000 THEN 30 ELSE 0 END) FROM generate_series(1, 3000) x) TO STDOUT');
    const outcome = reading.then(() => 'no error', (e: unknown) => e);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // Cancel once the statement is running (its rows up to the sleep are on their way).
      for (let i = 0; i < 100; i++) {
        const r = await other.query(`SELECT state FROM pg_stat_activity WHERE pid = $1`, [pid]);
        if (r.rows[0]?.state === 'active') break;
        await new Promise((res) => setTimeout(res, 20));
      }
      await other.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await other.end();
    }
    expect(await outcome).toMatchObject({ code: '57014' });
    await stillUsable();
  });
});
