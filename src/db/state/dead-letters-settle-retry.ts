import type pg from 'pg';

/**
 * Inside a dead-letter retry's transaction through a sink (http, custom): the sink wrote a letter (run_id =
 * `retryRunId`) for each record it still refuses, and a record refused again took the place of its pending letter
 * (insertDeadLetters: one letter per record and stage, made anew as the latest refusal, `seen` counting). The
 * letters among `ids` still there were not refused again (or came back as another record: a mapped one), so they
 * are marked retried. Returns the letters this retry made or renewed: the records still refused, with their reason.
 */
export async function settleRetriedLetters(client: pg.Client, integration: string, ids: readonly string[], retryRunId: string): Promise<Array<{ id: string; reason: string }>> {
  if (!ids.length) return [];
  const r = await client.query<{ id: string; reason: string }>(
    `WITH done AS (
       UPDATE tidemark.dead_letters SET retried_at = now() WHERE id = ANY($2::bigint[]) AND retried_at IS NULL
     )
     SELECT id::text, reason FROM tidemark.dead_letters WHERE integration = $1::text AND run_id = $3::text ORDER BY id`,
    [integration, ids, retryRunId],
  );
  return r.rows;
}
