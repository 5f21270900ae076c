/**
 * The relaxed page fence of a shard's range cut by a take (work stealing, steal-range.ts): `cut_from` is the
 * end the range had before its latest cut, `until_key` the new end as the source's sort key (RangeScale.key,
 * text that sorts like the positions under COLLATE "C"). A page read with the end before the cut still commits
 * when its cursor's key lies before the new end, since its records are the same whatever end it was read with
 * (record-page.ts), and at or after `cut_floor_key`, where the range stood at the cut (its cursor's key; '' from
 * its start): pages in flight lie past it, a late page of a range the slot held before (an earlier take may have
 * left it the same end) does not. Any other page read with the old end rolls back as before. NULL: the range was
 * never cut, or the source has no such key: only the exact end counts.
 */
export default `
ALTER TABLE tidemark.checkpoints ADD COLUMN cut_from jsonb, ADD COLUMN until_key text, ADD COLUMN cut_floor_key text;
`;
