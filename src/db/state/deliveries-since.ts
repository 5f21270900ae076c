import type pg from 'pg';

/**
 * Of `letters` (a record key each, and the time its record was last refused), the ids of those whose key the API
 * has been sent since: a later version passed and was delivered (the ledger's delivered_at, on the same clock).
 */
export async function deliveredSince(client: pg.Client, integration: string, letters: ReadonlyArray<{ id: string; recordKey: string; since: string }>): Promise<Set<string>> {
  if (!letters.length) return new Set();
  const r = await client.query<{ id: string }>(
    `SELECT u.id
       FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS u(id, k, t)
       JOIN tidemark.deliveries d ON d.integration = $1::text AND d.record_key = u.k AND d.delivered_at > u.t`,
    [integration, letters.map((l) => l.id), letters.map((l) => l.recordKey), letters.map((l) => l.since)],
  );
  return new Set(r.rows.map((row) => row.id));
}
