/** The sync and backfill checkpoints of many integrations (shards are on the integration's own page). */
export const MAIN_CHECKPOINTS = `
SELECT integration, slot, cursor::text, status, rows_done::text, updated_at::text, caught_up
  FROM tidemark.checkpoints WHERE integration = ANY($1::text[]) AND slot IN ('sync', 'backfill')`;

export interface MainCheckpointRow extends Record<string, unknown> {
  integration: string;
  slot: string;
  cursor: string | null;
  status: string;
  rows_done: string;
  updated_at: string;
  /** the run bound its last run read to (status done): see lagTime */
  caught_up: string | null;
}
