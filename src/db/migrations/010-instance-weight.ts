/**
 * Task-queue fairness weight per instance (`tidemark instances add --weight`, `instances set-weight`). NULL:
 * none of its own, so the template's `fairnessWeight` (or 1) applies and a change of the template reaches
 * every such instance at the next reconcile; rows from before this migration read as NULL.
 */
export default `
ALTER TABLE tidemark.instances
  ADD COLUMN weight double precision CHECK (weight IS NULL OR (weight > 0 AND weight <= 1000));
`;
