/** Sharded backfills: each shard's slot knows where its range ends; live tuning of running runs. */
export default `
-- Inclusive upper end of a shard's key range (null = up to the high-water mark): a shard reads
-- rows with cursor > its checkpoint and <= until_cursor, so neighbouring shards neither gap nor overlap.
ALTER TABLE tidemark.checkpoints ADD COLUMN until_cursor jsonb;

-- Latest batch size / rows-per-second set by a 'tune' signal; running activities poll it between batches.
CREATE TABLE tidemark.tuning (
  run_key text PRIMARY KEY,
  integration text NOT NULL,
  batch_size int CHECK (batch_size BETWEEN 1 AND 100000),
  rows_per_second double precision CHECK (rows_per_second > 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;
