import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { describeTable } from '../../src/sources/postgres/describe-table';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let dst: TestDatabase;
const clients: pg.Client[] = [];
const COLUMNS = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'label', type: 'text', notNull: false },
];

beforeAll(async () => {
  dst = await createTestDatabase('sink_create_race');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
  await dst?.drop();
});

describe('sink.create with shards starting at once', () => {
  it('a table committed after a statement`s snapshot was taken is either whole or absent to describeTable (never a table without columns)', async () => {
    const reader = new pg.Client({ connectionString: dst.url });
    await reader.connect();
    clients.push(reader);
    await sql(dst.url, 'DROP SCHEMA IF EXISTS late CASCADE; CREATE SCHEMA late');
    // The reader's snapshot predates the table (REPEATABLE READ keeps it for the transaction); catalog lookups by name
    // (to_regclass) see the latest commit, the catalog rows a query reads do not.
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await reader.query('SELECT 1');
    await sql(dst.url, 'CREATE TABLE late.items (id bigint PRIMARY KEY, label text)');
    const seen = await describeTable(reader, { schema: 'late', name: 'items' }, 'sink');
    await reader.query('COMMIT');
    expect(seen).toBeUndefined();
    expect((await describeTable(reader, { schema: 'late', name: 'items' }, 'sink'))?.columns.map((c) => c.name)).toEqual(['id', 'label']);
  });

  it('eight sessions creating the same schema and table at the same moment all succeed, and the table is made once', async () => {
    for (let i = 0; i < 8; i++) {
      const c = new pg.Client({ connectionString: dst.url });
      await c.connect();
      clients.push(c);
    }
    for (let round = 0; round < 5; round++) {
      await sql(dst.url, 'DROP SCHEMA IF EXISTS raced CASCADE');
      const sinks = clients.map((c) => new PostgresSink(c, { kind: 'postgres', url: '', table: `raced.items`, key: ['id'], create: true }));
      // Without the lock, concurrent CREATE … IF NOT EXISTS fails now and then with 23505 on pg_type / pg_namespace.
      const results = await Promise.allSettled(sinks.map((s) => s.prepare(COLUMNS)));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String(((r as PromiseRejectedResult).reason as Error).stack))).toEqual([]);
      const [t] = await sql<{ n: string }>(dst.url, `SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'raced' AND tablename = 'items'`);
      expect(t!.n).toBe('1');
    }
  });

  it('integrations creating their own tables in one new schema at once all succeed (an acceptance run: pg_namespace 23505)', async () => {
    for (let round = 0; round < 5; round++) {
      await sql(dst.url, 'DROP SCHEMA IF EXISTS shared CASCADE');
      const sinks = clients.map((c, i) => new PostgresSink(c, { kind: 'postgres', url: '', table: `shared.items_${i}`, key: ['id'], create: true }));
      const results = await Promise.allSettled(sinks.map((s) => s.prepare(COLUMNS)));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String(((r as PromiseRejectedResult).reason as Error).stack))).toEqual([]);
      const [t] = await sql<{ n: string }>(dst.url, `SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'shared'`);
      expect(t!.n).toBe(String(clients.length));
    }
  });
});
