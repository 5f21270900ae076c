import type pg from 'pg';

/** Letters by id, whatever their integration or state: to say why one asked for was not retried. */
export async function findDeadLetters(client: pg.Client, ids: readonly string[]): Promise<Array<{ id: string; integration: string; retried_at: string | null; superseded: boolean }>> {
  if (!ids.length) return [];
  const r = await client.query<{ id: string; integration: string; retried_at: string | null; superseded: boolean | string }>(
    `SELECT id::text, integration, retried_at::text, superseded FROM tidemark.dead_letters WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return r.rows.map((l) => ({ ...l, superseded: l.superseded === true || l.superseded === 't' }));
}
