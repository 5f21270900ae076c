import type pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { connect } from '../../src/pg/connect';
import { copyOut } from '../../src/pg/copy-out';
import type { ColumnSpec } from '../../src/sources/source';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { sql } from './fixtures';

/** A sink test file's database and sessions: pages of src.t written into dst.t by a sink on `client`. */
export interface SinkSessions {
  db: TestDatabase;
  /** Reads src.t as the PostgreSQL source does (a canonical session) */
  reader: pg.Client;
  /** The sink's session */
  client: pg.Client;
  /** The statements the sink's session sends (their text) while `work` runs: which write path a page took. */
  statements<T>(work: () => Promise<T>): Promise<{ result: T; sent: string[] }>;
  /** Rows of src.t as COPY text, as the source reads them. */
  page(columns: readonly ColumnSpec[], where?: string, order?: string): Promise<{ data: Buffer; count: number }>;
  /** Each dst.t row's xmin by its key: a row rewritten, even with the same values, gets a new one. */
  xmins(key?: string): Promise<Map<string, string>>;
}

/** src.t with 13 column types and 1,500 rows, awkward values included (NaN, -0, ±Infinity, 1e-300, infinity, escapes, non-ASCII). */
export const TYPED_SOURCE = `CREATE TABLE src.t (id bigint PRIMARY KEY, amount numeric(12,2), price float8, ratio real, at timestamptz, day date,
  doc jsonb, tags text[], note text, flag boolean, u uuid, span interval, raw bytea);
  INSERT INTO src.t SELECT g, g * 1.25, g / 7.0, g / 3.0, '2024-01-01'::timestamptz + g * interval '1.000001 second', '2024-01-01'::date + g,
    jsonb_build_object('n', g, 's', 'x' || g), ARRAY['a', 'b c', NULL, 'd"e'], CASE WHEN g % 5 = 0 THEN NULL ELSE E'tab\\there\\nnew line \\\\ ü ' || g END,
    g % 2 = 0, md5(g::text)::uuid, g * interval '1 minute 0.5 second', decode(lpad(to_hex(g), 8, '0'), 'hex')
  FROM generate_series(1, 1500) g;
  UPDATE src.t SET price = 'NaN', ratio = '-0' WHERE id = 3; UPDATE src.t SET price = '-Infinity', at = 'infinity' WHERE id = 4;
  UPDATE src.t SET price = 1e-300, ratio = 3.4e38 WHERE id = 6;`;

/** A page's last statement in script form that does nothing but let it commit. */
export const commit = { sql: () => 'SELECT 1' };

/**
 * A fresh database for this test file (`name`) with its two sessions; schemas src and dst start empty in every test
 * (after `reset`, the file's own cleanup).
 */
export function sinkSessions(name: string, reset = ''): SinkSessions {
  const fx = {
    async statements<T>(work: () => Promise<T>) {
      const client = fx.client;
      const original = client.query.bind(client) as (...a: unknown[]) => unknown;
      const sent: string[] = [];
      Object.assign(client, { query: (q: unknown, ...rest: unknown[]) => (sent.push(typeof q === 'string' ? q : String((q as { text?: string }).text)), original(q, ...rest)) });
      try {
        return { result: await work(), sent };
      } finally {
        Object.assign(client, { query: original });
      }
    },
    async page(columns: readonly ColumnSpec[], where = 'true', order = 'id') {
      const r = await copyOut(fx.reader, `COPY (SELECT ${columns.map((c) => `"${c.name}"`).join(', ')} FROM src.t WHERE ${where} ORDER BY ${order}) TO STDOUT`);
      return { data: r.data, count: r.rows };
    },
    async xmins(key = 'id::text') {
      return new Map((await sql<{ k: string; x: string }>(fx.db.url, `SELECT ${key} AS k, xmin::text AS x FROM dst.t`)).map((r) => [r.k, r.x]));
    },
  } as SinkSessions;
  beforeAll(async () => {
    fx.db = await createTestDatabase(name);
    [fx.reader, fx.client] = await Promise.all([connect(fx.db.url), connect(fx.db.url)]);
  });
  afterAll(async () => {
    await Promise.all([fx.reader?.end(), fx.client?.end()]);
    await fx.db?.drop();
  });
  beforeEach(async () => {
    await sql(fx.db.url, `DROP SCHEMA IF EXISTS src CASCADE; DROP SCHEMA IF EXISTS dst CASCADE; CREATE SCHEMA src; CREATE SCHEMA dst; ${reset}`);
  });
  return fx;
}
