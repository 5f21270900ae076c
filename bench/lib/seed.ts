import { sql, withClient } from './db';

/** The bench's source rows: 6 columns, about 100 bytes a row in COPY text. */
export const COLUMNS = ['id', 'updated_at', 'customer', 'status', 'total', 'note'] as const;
export const COLUMN_DDL = 'id bigint NOT NULL, updated_at timestamptz NOT NULL, customer text NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL, note text';
const SEED_VERSION = 'tidemark-bench seed v1';

export function sourceTableFor(rows: number): string {
  return `public.bench_orders_${rows}`;
}

export interface SeedInfo {
  table: string;
  rows: number;
  /** average length of a row in COPY text (bytes, with separators) */
  textBytesPerRow: number;
  /** heap + indexes on disk, bytes per row */
  diskBytesPerRow: number;
  seconds: number;
  reused: boolean;
}

/**
 * Seeds (or reuses, when an identical seed is already there) `public.bench_orders_<rows>`:
 * updated_at rises with id but with up to 100 ms of jitter, so cursor order is not physical order;
 * 1 % of notes are NULL and 1 % carry a tab and a newline (COPY escapes).
 */
export async function seedSource(url: string, rows: number): Promise<SeedInfo> {
  const table = sourceTableFor(rows);
  const t0 = performance.now();
  const marker = `${SEED_VERSION} rows=${rows}`;
  const [existing] = await sql<{ c: string | null }>(url, `SELECT obj_description(to_regclass($1), 'pg_class') AS c`, [table]);
  let reused = existing?.c === marker;
  if (!reused) {
    await withClient(url, async (c) => {
      await c.query(`DROP TABLE IF EXISTS ${table}`);
      await c.query(`CREATE UNLOGGED TABLE ${table} (${COLUMN_DDL})`);
      // Unlogged while loading (no WAL for the seed), then logged like any real source.
      await c.query(
        `INSERT INTO ${table}
         SELECT g,
                timestamptz '2024-01-01 00:00:00+00' + g * interval '10 milliseconds' + ((g * 7919) % 100000) * interval '1 microsecond',
                'customer-' || lpad((g % 100003)::text, 6, '0'),
                (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4],
                ((g * 37) % 100000) / 100.0,
                CASE WHEN g % 97 = 0 THEN NULL WHEN g % 101 = 0 THEN E'gift\\twrap\\nplease' ELSE md5(g::text) END
           FROM generate_series(1, $1::bigint) g`,
        [rows],
      );
      await c.query(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`);
      await c.query(`CREATE INDEX ON ${table} (updated_at, id)`);
      await c.query(`ALTER TABLE ${table} SET LOGGED`);
      await c.query(`VACUUM ANALYZE ${table}`);
      await c.query(`COMMENT ON TABLE ${table} IS '${marker}'`);
    });
    reused = false;
  }
  const [size] = await sql<{ text: string; disk: string }>(
    url,
    `SELECT (SELECT avg(octet_length(concat_ws(E'\\t', id, updated_at, customer, status, total, coalesce(note, '\\N'))) + 1)
               FROM (SELECT * FROM ${table} LIMIT 20000) s)::text AS text,
            pg_total_relation_size(to_regclass($1))::text AS disk`,
    [table],
  );
  return {
    table,
    rows,
    textBytesPerRow: Math.round(Number(size?.text ?? 0)),
    diskBytesPerRow: Math.round(Number(size?.disk ?? 0) / Math.max(rows, 1)),
    seconds: (performance.now() - t0) / 1000,
    reused,
  };
}
