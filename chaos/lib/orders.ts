import { sql } from './sql';

/**
 * The orders table every PostgreSQL scenario copies: id, updated_at with microseconds, a status, a
 * numeric and a note with tabs, newlines and backslashes (COPY escaping), indexed for keyset reads.
 */
export const ORDERS_COLUMNS = 'id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, status text NOT NULL, total numeric(12,2), note text';

export interface SeedOptions {
  table?: string;
  /** rows sharing one updated_at: n rows per distinct timestamp (default 10) */
  perTimestamp?: number;
  /** timestamp of the first rows (default 2024-01-01) */
  start?: string;
}

export async function createOrdersTable(url: string, table = 'public.orders'): Promise<void> {
  const schema = table.includes('.') ? table.split('.')[0] : 'public';
  await sql(url, `CREATE SCHEMA IF NOT EXISTS ${schema}; CREATE TABLE ${table} (${ORDERS_COLUMNS}); CREATE INDEX ON ${table} (updated_at, id)`);
}

export async function seedOrders(url: string, rows: number, o: SeedOptions = {}): Promise<void> {
  const table = o.table ?? 'public.orders';
  await createOrdersTable(url, table);
  // In chunks, so a 1M-row seed does not hold one huge transaction.
  for (let from = 1; from <= rows; from += 250_000) await insertOrders(url, from, Math.min(rows, from + 249_999), o);
  await sql(url, `ANALYZE ${table}`);
}

export async function insertOrders(url: string, from: number, to: number, o: SeedOptions = {}): Promise<void> {
  await sql(
    url,
    `INSERT INTO ${o.table ?? 'public.orders'}
     SELECT g, $3::timestamptz + ((g / $4::int) * interval '1 second') + interval '0.000123 second',
            'new', g * 1.25, CASE WHEN g % 11 = 0 THEN E'tab\\there\\nnew line \\\\ backslash' WHEN g % 13 = 0 THEN NULL ELSE md5(g::text) END
       FROM generate_series($1::bigint, $2::bigint) g`,
    [from, to, o.start ?? '2024-01-01 00:00:00+00', o.perTimestamp ?? 10],
  );
}
