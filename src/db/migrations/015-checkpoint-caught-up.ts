/**
 * Where a slot's last finished run read to (`caught_up`: its high-water mark when it finished), kept while the next
 * run is under way: the slot's own `high_water` is the running run's bound then, not reached yet. Lag is the later of
 * it and the cursor's time, so a quiet source is not lag, also while a sync runs (the review). NULL until a run finishes.
 */
export default `
ALTER TABLE tidemark.checkpoints ADD COLUMN caught_up text;
`;
