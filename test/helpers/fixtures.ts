import pg from 'pg';
import { parseConfig, type Config } from '../../src/config';

/** Runs SQL on a database and closes the connection. */
export async function sql<T extends pg.QueryResultRow = Record<string, string>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

export interface SeedOptions {
  rows: number;
  table?: string;
  /** rows sharing one updated_at value: n rows per distinct timestamp */
  perTimestamp?: number;
  start?: string;
}

/** An orders table (id, updated_at with microseconds, status, total, note with tabs/newlines) indexed for keyset reads. */
export async function seedOrders(url: string, o: SeedOptions): Promise<void> {
  const table = o.table ?? 'public.orders';
  await sql(
    url,
    `CREATE TABLE ${table} (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, status text NOT NULL, total numeric(12,2), note text);
     CREATE INDEX ON ${table} (updated_at, id);`,
  );
  await insertOrders(url, 1, o.rows, o);
}

export async function insertOrders(url: string, from: number, to: number, o: Omit<SeedOptions, 'rows'> = {}): Promise<void> {
  const table = o.table ?? 'public.orders';
  const per = o.perTimestamp ?? 10;
  await sql(
    url,
    `INSERT INTO ${table}
     SELECT g, $3::timestamptz + ((g / $4::int) * interval '1 second') + interval '0.000123 second',
            'new', g * 1.25, CASE WHEN g % 11 = 0 THEN E'tab\\there\\nnew line \\\\ backslash' WHEN g % 13 = 0 THEN NULL ELSE md5(g::text) END
       FROM generate_series($1::bigint, $2::bigint) g`,
    [from, to, o.start ?? '2024-01-01 00:00:00+00', per],
  );
}

export interface Digest {
  count: number;
  md5: string;
}

/** Row count and an ordered checksum of whole rows. */
export async function digest(url: string, table: string, orderBy = 'id'): Promise<Digest> {
  const [r] = await sql<{ n: string; h: string | null }>(url, `SELECT count(*)::text AS n, md5(string_agg(t::text, '|' ORDER BY ${orderBy})) AS h FROM ${table} t`);
  return { count: Number(r?.n), md5: r?.h ?? '' };
}

/** A one-integration config reading public.orders into copy.orders, URLs from the env var SRC_URL / DST_URL. */
export function ordersConfig(overrides: Record<string, unknown> = {}, integration: Record<string, unknown> = {}): Config {
  return parseConfig({
    integrations: [
      {
        id: 'orders',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'], ...overrides },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
        batchSize: 1000,
        ...integration,
      },
    ],
  });
}

/** `url` logging in as `role` (a role a test created, to check what tidemark does without a superuser's rights). */
export function asRole(url: string, role: string, password = 'pw'): string {
  const u = new URL(url);
  [u.username, u.password] = [role, password];
  return u.toString();
}
