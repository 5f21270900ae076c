/** Delete reconciliations: when they ran (the schedule waits `deletes.reconcileEvery` between them) and what they removed. */
export default `
CREATE TABLE tidemark.reconciliations (
  id bigserial PRIMARY KEY,
  integration text NOT NULL,
  -- the sync run that reconciled (tidemark.runs.run_id); null for \`tidemark verify --delete\`
  run_key text,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'refused', 'failed')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  -- key ranges whose keys differed and were compared key by key
  ranges_compared int NOT NULL DEFAULT 0,
  -- target rows whose key the source no longer has
  rows_missing bigint NOT NULL DEFAULT 0,
  -- rows removed, committed with each batch
  rows_deleted bigint NOT NULL DEFAULT 0,
  error text
);
CREATE INDEX reconciliations_by_integration ON tidemark.reconciliations (integration, started_at DESC);

-- Target rows a sync run's reconciliation removed.
ALTER TABLE tidemark.runs ADD COLUMN rows_deleted bigint NOT NULL DEFAULT 0;
`;
