import type pg from 'pg';

/** Inside the page's transaction: the records the API accepted, with the hash of the version it got. */
export async function saveDeliveries(client: pg.Client, integration: string, delivered: ReadonlyArray<{ recordKey: string; contentHash: string }>): Promise<void> {
  if (!delivered.length) return;
  await client.query(
    `INSERT INTO tidemark.deliveries (integration, record_key, content_hash, delivered_at)
     SELECT $1::text, k, h, now() FROM unnest($2::text[], $3::text[]) AS u(k, h)
     ON CONFLICT (integration, record_key) DO UPDATE SET content_hash = EXCLUDED.content_hash, delivered_at = EXCLUDED.delivered_at`,
    [integration, delivered.map((d) => d.recordKey), delivered.map((d) => d.contentHash)],
  );
}
