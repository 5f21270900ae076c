/**
 * Where a sharded backfill's range to the high-water mark (until_cursor null) ended, kept on its slot when
 * that range is read to its end: the sync after the backfill starts there. Its own column because the shard
 * may go on to take part of another shard's range (work stealing), which moves the slot's cursor and end.
 * NULL: that range is not finished (or the slot never held it).
 */
export default `
ALTER TABLE tidemark.checkpoints ADD COLUMN end_cursor jsonb;
`;
