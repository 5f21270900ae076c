/** State tables: checkpoints committed with each batch, one row per run, and dead letters. */
export default `
CREATE TABLE tidemark.checkpoints (
  integration text NOT NULL,
  -- 'sync' for incremental runs, 'backfill' (or 'backfill/<shard>') for backfills
  slot text NOT NULL,
  -- position after the last committed row (exclusive lower bound of the next read); null = start
  cursor jsonb,
  rows_done bigint NOT NULL DEFAULT 0,
  -- the workflow run that owns the slot; a new backfill resets a slot it does not own
  owner text,
  -- exclusive upper bound the owner reads up to (text in the first cursor column's type)
  high_water text,
  start_cursor jsonb,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration, slot)
);

CREATE TABLE tidemark.runs (
  run_id text PRIMARY KEY,
  integration text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('sync', 'backfill', 'resume')),
  status text NOT NULL CHECK (status IN ('running', 'completed', 'partial', 'failed', 'cancelled', 'skipped')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  attempts int NOT NULL DEFAULT 1,
  -- rows fetched from the source, counted as they are read, including any re-read after a crash
  rows_read bigint NOT NULL DEFAULT 0,
  -- rows covered by committed batches
  rows_committed bigint NOT NULL DEFAULT 0,
  -- rows inserted or changed in the target (unchanged rows are not rewritten)
  rows_written bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  pages int NOT NULL DEFAULT 0,
  start_cursor jsonb,
  end_cursor jsonb,
  error text
);
CREATE INDEX runs_by_integration ON tidemark.runs (integration, started_at DESC);

CREATE TABLE tidemark.dead_letters (
  id bigserial PRIMARY KEY,
  integration text NOT NULL,
  run_id text,
  cursor jsonb,
  record jsonb NOT NULL,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retried_at timestamptz
);
CREATE INDEX dead_letters_by_integration ON tidemark.dead_letters (integration, id);
`;
