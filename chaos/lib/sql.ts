import pg from 'pg';

/** Runs SQL on a database and closes the connection. */
export async function sql<T extends pg.QueryResultRow = Record<string, string>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query<T>(text, values)).rows);
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'tidemark-chaos' });
  client.on('error', () => undefined); // a server restart mid-query must not crash the runner
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One number from a query (`SELECT … AS n`), or `fallback` when the query fails (e.g. the table is not there yet). */
export async function scalar(url: string, text: string, values: unknown[] = [], fallback = 0): Promise<number> {
  try {
    const [row] = await sql<{ n: string | null }>(url, text, values);
    return row?.n === null || row?.n === undefined ? fallback : Number(row.n);
  } catch {
    return fallback;
  }
}
