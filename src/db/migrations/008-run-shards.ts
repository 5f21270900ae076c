/**
 * Per-shard run counters: each shard of a sharded backfill adds its page's counts to its own row here, in
 * the page's transaction, so shards never queue on the one tidemark.runs row. A shard rolls its row up
 * into tidemark.runs about once a second and when it stops (rollUpShardCounters); readRun / listRuns add
 * whatever is not rolled up yet, so they show the exact totals at any time.
 */
export default `
CREATE TABLE tidemark.run_shards (
  run_id text NOT NULL,
  shard int NOT NULL,
  rows_read bigint NOT NULL DEFAULT 0,
  rows_committed bigint NOT NULL DEFAULT 0,
  rows_written bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  pages int NOT NULL DEFAULT 0,
  end_cursor jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, shard)
);
`;
