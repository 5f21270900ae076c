import type pg from 'pg';

/** Inside the reconciliation's transaction: the records the API deleted (or no longer had) leave the ledger. Returns the rows removed. */
export async function removeDeliveries(client: pg.Client, integration: string, recordKeys: readonly string[]): Promise<number> {
  if (!recordKeys.length) return 0;
  const r = await client.query(`DELETE FROM tidemark.deliveries WHERE integration = $1::text AND record_key = ANY($2::text[])`, [integration, recordKeys]);
  return r.rowCount ?? 0;
}
