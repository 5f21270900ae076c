import type pg from 'pg';

/**
 * Inside a dead-letter retry's transaction through a sink (http, custom): the sink wrote a fresh letter
 * (run_id = `retryRunId`) for each record it still refuses. A pending letter among `ids` whose record is
 * refused again keeps its place with the new reason, status and answer, and its fresh copy is dropped;
 * the others are marked retried. A fresh letter matching none (a mapped record whose source record was
 * the old letter) stays, pending. Returns the letters still refused, with their new reason.
 */
export async function settleRetriedLetters(client: pg.Client, integration: string, ids: readonly string[], retryRunId: string): Promise<Array<{ id: string; reason: string }>> {
  if (!ids.length) return [];
  const r = await client.query<{ id: string; reason: string }>(
    `WITH fresh AS (
       SELECT id, record, reason, http_status, detail FROM tidemark.dead_letters WHERE integration = $1::text AND run_id = $3::text
     ), again AS (
       UPDATE tidemark.dead_letters d SET reason = f.reason, http_status = f.http_status, detail = f.detail
         FROM (SELECT DISTINCT ON (record) record, reason, http_status, detail FROM fresh ORDER BY record, id) f
        WHERE d.id = ANY($2::bigint[]) AND d.record = f.record
       RETURNING d.id, d.record, d.reason
     ), dropped AS (
       DELETE FROM tidemark.dead_letters WHERE id IN (SELECT id FROM fresh WHERE record IN (SELECT record FROM again))
     ), done AS (
       UPDATE tidemark.dead_letters SET retried_at = now() WHERE id = ANY($2::bigint[]) AND id NOT IN (SELECT id FROM again)
     )
     SELECT id::text, reason FROM again`,
    [integration, ids, retryRunId],
  );
  return r.rows;
}
