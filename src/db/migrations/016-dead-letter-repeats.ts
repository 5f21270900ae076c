/**
 * A record refused again while its letter is still pending (a sync re-reading the same bad line, a backfill run
 * again) stays one letter (made anew as that refusal, see insertDeadLetters): `seen` times in all, the last at
 * `last_seen_at`. The index finds a pending letter by its record without reading the integration's letters.
 * Letters filed twice before this migration are merged into one when their record is refused again.
 */
export default `
ALTER TABLE tidemark.dead_letters ADD COLUMN seen integer NOT NULL DEFAULT 1;
ALTER TABLE tidemark.dead_letters ADD COLUMN last_seen_at timestamptz;
CREATE INDEX dead_letters_pending_by_record ON tidemark.dead_letters (integration, md5(record::text)) WHERE retried_at IS NULL;
`;
