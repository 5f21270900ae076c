/**
 * Which transaction made a dead letter (`created_txid`, txid_current(): the page's), so `dead-letters --retry`
 * can tell a letter that a later write of the same key made stale (the target row's or delivery ledger row's
 * xmin is newer): re-applying it would put an older version over a newer one. Letters from before have none
 * (NULL: retried as before). `superseded`: settled without being applied, for that reason.
 */
export default `
ALTER TABLE tidemark.dead_letters ADD COLUMN created_txid bigint;
ALTER TABLE tidemark.dead_letters ALTER COLUMN created_txid SET DEFAULT txid_current();
ALTER TABLE tidemark.dead_letters ADD COLUMN superseded boolean NOT NULL DEFAULT false;
`;
