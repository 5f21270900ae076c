import type pg from 'pg';

/** The ledger's content hash of each key that has one (keys never delivered are absent). */
export async function readDeliveries(client: pg.Client, integration: string, recordKeys: readonly string[]): Promise<Map<string, string>> {
  if (!recordKeys.length) return new Map();
  const r = await client.query<{ record_key: string; content_hash: string }>(
    `SELECT d.record_key, d.content_hash
       FROM unnest($2::text[]) AS k(record_key)
       JOIN tidemark.deliveries d ON d.integration = $1::text AND d.record_key = k.record_key`,
    [integration, recordKeys],
  );
  return new Map(r.rows.map((row) => [row.record_key, row.content_hash]));
}
