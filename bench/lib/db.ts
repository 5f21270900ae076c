import pg from 'pg';

/** Runs `fn` on a fresh connection (plain pg types) and closes it. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, applicationName = 'tidemark-bench'): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function sql<T extends pg.QueryResultRow = Record<string, string>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query<T>(text, values)).rows);
}

/** The same server, another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A database for the bench on the server of `serverUrl`; falls back to the URL's own database when
 * the user may not create databases (a managed DATABASE_URL), which is fine because every bench
 * object lives in its own schema / table names.
 */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  try {
    await withClient(serverUrl, async (c) => {
      const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!exists.rowCount) await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
    });
    return databaseUrl(serverUrl, name);
  } catch (err) {
    process.stderr.write(`bench: cannot create database ${name} (${(err as Error).message}); using ${redact(serverUrl)} itself\n`);
    return serverUrl;
  }
}

/**
 * Makes runs comparable: fresh statistics and visibility maps on the given tables, then a checkpoint
 * so no run pays for the previous run's dirty buffers. CHECKPOINT needs superuser (or pg_checkpoint):
 * without it only the VACUUM happens.
 */
export async function settle(targets: { url: string; tables: string[] }[]): Promise<void> {
  for (const t of targets) {
    await withClient(t.url, async (c) => {
      for (const table of t.tables) {
        const exists = await c.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [table]);
        if (exists.rows[0]?.oid) await c.query(`VACUUM ANALYZE ${table}`);
      }
    });
  }
  const servers = new Map(targets.map((t) => [serverKey(t.url), t.url]));
  for (const url of servers.values()) await withClient(url, (c) => c.query('CHECKPOINT')).catch(() => undefined);
}

function serverKey(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

/** Order-independent digest of whole rows (count and a 64-bit hash sum); cheap enough for 5M rows. */
export async function tableDigest(url: string, table: string, where = 'true'): Promise<{ count: number; hash: string }> {
  const [r] = await sql<{ n: string; h: string | null }>(
    url,
    `SELECT count(*)::text AS n, sum(hashtextextended(t::text, 0)::numeric)::text AS h FROM ${table} t WHERE ${where}`,
  );
  return { count: Number(r?.n ?? 0), hash: r?.h ?? '' };
}

export async function countRows(url: string, table: string): Promise<number> {
  const [r] = await sql<{ n: string }>(url, `SELECT count(*)::text AS n FROM ${table}`);
  return Number(r?.n ?? 0);
}

import { redactUrl as redact } from '../../src/pg/connect';

export { redact };

/** Server process id of a connection (for CPU accounting from /proc when the server is local). */
export async function backendPid(client: pg.Client): Promise<number> {
  const r = await client.query<{ pid: number | string }>('SELECT pg_backend_pid() AS pid');
  return Number(r.rows[0]?.pid);
}
