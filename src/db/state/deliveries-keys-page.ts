import type pg from 'pg';

/** One page of the ledger's record keys in key order, strictly after `after` when given (bounded memory for the reconciliation's scan). */
export async function deliveryKeysPage(client: pg.Client, integration: string, after: string | undefined, limit: number): Promise<string[]> {
  const r = await client.query<{ k: string }>(
    `SELECT record_key AS k FROM tidemark.deliveries
      WHERE integration = $1::text AND ($2::text IS NULL OR record_key > $2::text)
      ORDER BY record_key LIMIT $3::int`,
    [integration, after ?? null, limit],
  );
  return r.rows.map((x) => x.k);
}
