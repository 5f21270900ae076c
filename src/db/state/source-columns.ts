import type pg from 'pg';

export interface SeenColumn {
  name: string;
  type: string;
}

/** The source's columns as last seen by the sink for this integration; undefined before its first run. */
export async function readSourceColumns(client: pg.Client, integration: string): Promise<SeenColumn[] | undefined> {
  const r = await client.query<{ columns: string }>('SELECT columns::text AS columns FROM tidemark.source_columns WHERE integration = $1::text', [integration]);
  const row = r.rows[0];
  return row ? (JSON.parse(row.columns) as SeenColumn[]) : undefined;
}

export async function saveSourceColumns(client: pg.Client, integration: string, columns: readonly SeenColumn[]): Promise<void> {
  await client.query(
    `INSERT INTO tidemark.source_columns (integration, columns) VALUES ($1::text, $2::jsonb)
     ON CONFLICT (integration) DO UPDATE SET columns = EXCLUDED.columns, updated_at = now()
     WHERE tidemark.source_columns.columns IS DISTINCT FROM EXCLUDED.columns`,
    [integration, JSON.stringify(columns.map((c) => ({ name: c.name, type: c.type })))],
  );
}
