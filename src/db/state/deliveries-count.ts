import type pg from 'pg';

/** Records the ledger holds for an integration (the delete guard's whole). */
export async function countDeliveries(client: pg.Client, integration: string): Promise<number> {
  const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM tidemark.deliveries WHERE integration = $1::text`, [integration]);
  return Number(r.rows[0]?.n ?? 0);
}
