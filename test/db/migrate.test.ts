import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate';
import { closeQuietly, connect } from '../../src/pg/connect';
import { MIGRATIONS } from '../../src/db/migrations';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { sql } from '../helpers/fixtures';

/** Migrations run at the start of every run: once per database, whoever runs them at once, and cheaply after. */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('migrate');
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await sql(db.url, 'DROP SCHEMA IF EXISTS tidemark CASCADE');
});

async function withClients<T>(n: number, fn: (clients: pg.Client[]) => Promise<T>): Promise<T> {
  // Sessions as tidemark opens them (values as text), and one as a plain client would.
  const clients = await Promise.all(Array.from({ length: n }, (_, i) => (i === n - 1 && n > 1 ? plain() : connect(db.url))));
  try {
    return await fn(clients);
  } finally {
    await Promise.all(clients.map((c) => closeQuietly(c)));
  }
}

async function plain(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  return c;
}

/** Statements the server ran on `client` while `fn` ran (pg's own counter of the session's transactions is too coarse). */
async function statementsOf(client: pg.Client, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => (n++, query(...args));
  try {
    await fn();
  } finally {
    (client as unknown as { query: unknown }).query = query;
  }
  return n;
}

describe('migrate', () => {
  it('applies every migration to a new database, then nothing, in one statement', async () => {
    await withClients(1, async ([c]) => {
      expect(await migrate(c!)).toBe(MIGRATIONS.length);
      let again = -1;
      expect(await statementsOf(c!, async () => (again = await migrate(c!)))).toBe(1);
      expect(again).toBe(0);
    });
    const rows = await sql<{ id: number }>(db.url, 'SELECT id FROM tidemark.migrations ORDER BY id');
    expect(rows.map((r) => Number(r.id))).toEqual(MIGRATIONS.map((m) => m.id));
  });

  it('applies each migration once when several processes start at once', async () => {
    const counts = await withClients(4, (clients) => Promise.all(clients.map((c) => migrate(c))));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(MIGRATIONS.length);
    expect(counts.filter((n) => n > 0)).toHaveLength(1);
  });

  it('applies what is missing when an older tidemark migrated this database', async () => {
    await withClients(1, async ([c]) => {
      await migrate(c!);
      // As if migration 11 had come after this database was migrated: no row for it, and not its function.
      await c!.query('DROP FUNCTION tidemark.require_slot_owner(bigint, text, text, text); DELETE FROM tidemark.migrations WHERE id = 11');
      expect(await migrate(c!)).toBe(1);
      const fn = await c!.query(`SELECT to_regprocedure('tidemark.require_slot_owner(bigint, text, text, text)')::text AS f`);
      expect(fn.rows[0].f).not.toBeNull();
      expect(await migrate(c!)).toBe(0);
    });
  });
});
