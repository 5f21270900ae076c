import type pg from 'pg';

/** A sharded run reads `shards` key ranges (a resume: the unfinished ones), for `runs` (see migration 017). */
export async function setRunShards(client: pg.Client, runId: string, shards: number): Promise<void> {
  await client.query('UPDATE tidemark.runs SET shards = $2::int WHERE run_id = $1::text', [runId, shards]);
}
