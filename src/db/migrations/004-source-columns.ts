/** The source's columns as the sink last saw them, per integration: how a dropped or retyped column is noticed. */
export default `
CREATE TABLE tidemark.source_columns (
  integration text PRIMARY KEY,
  -- [{"name": ..., "type": ...}] in the order the source gave them; type as the source names it (format_type)
  columns jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;
