/**
 * How many key ranges a run reads, when it is sharded: a new sharded backfill every shard, a resume of one the
 * unfinished shards it continues (each from its own checkpoint). NULL: one range. `runs` showed a sharded resume
 * as starting at "(beginning)" (its start cursor is null: there is no one place it starts from).
 */
export default `
ALTER TABLE tidemark.runs ADD COLUMN shards integer;
`;
