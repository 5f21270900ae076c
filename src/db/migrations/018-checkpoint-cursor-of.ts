/**
 * What a checkpoint's cursor is a position of (a PostgreSQL source: its cursor columns, in order), saved with it: a
 * cursor of the same shape but other columns (`[updated_at, id]` changed to `[created_at, id]`) parses as a valid
 * position and would be read from, skipping rows (an acceptance run: 100 rows). A run refuses a slot saved for other
 * columns. NULL: saved before this migration, or a source whose cursor needs no such check.
 */
export default `
ALTER TABLE tidemark.checkpoints ADD COLUMN cursor_of jsonb;
`;
