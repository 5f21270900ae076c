import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSink } from '../../src/sinks/postgres-sink';
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
});
