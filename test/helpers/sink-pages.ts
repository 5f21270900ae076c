import type pg from 'pg';
import { copyOut } from '../../src/pg/copy-out';
import type { ColumnSpec } from '../../src/sources/source';

/** The statements `client` sends (their text) while `work` runs: which write path a page took. */
export async function statementsOf<T>(client: pg.Client, work: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const original = client.query.bind(client) as (...a: unknown[]) => unknown;
  const sent: string[] = [];
  Object.assign(client, { query: (q: unknown, ...rest: unknown[]) => (sent.push(typeof q === 'string' ? q : String((q as { text?: string }).text)), original(q, ...rest)) });
  try {
    return { result: await work(), sent };
  } finally {
    Object.assign(client, { query: original });
  }
}

/** Rows of src.t as the PostgreSQL source reads them: COPY text on a canonical session (`reader`). */
export async function pageOf(reader: pg.Client, columns: readonly ColumnSpec[], where = 'true', order = 'id'): Promise<{ data: Buffer; count: number }> {
  const r = await copyOut(reader, `COPY (SELECT ${columns.map((c) => `"${c.name}"`).join(', ')} FROM src.t WHERE ${where} ORDER BY ${order}) TO STDOUT`);
  return { data: r.data, count: r.rows };
}
