import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

export interface DeadLetterInput {
  record: Record<string, unknown>;
  reason: string;
  /** Set when the target refused the row (the record is then a target row keyed by column name). */
  error?: WriteError;
  /**
   * `write`: the record is what was sent to the target (a custom sink's refusal, no SQLSTATE), so `--retry` writes it
   * as it is instead of mapping it again; default: `write` with an error, else `validate`.
   */
  stage?: 'validate' | 'write';
}

/** A letter's record as JSON for jsonb, which refuses \u0000: a NUL in a value (no target can hold it either) becomes U+FFFD. */
function letterJson(record: Record<string, unknown>): string {
  return JSON.stringify(record, (_k, v: unknown) => (typeof v === 'string' && v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v));
}

/** The PostgreSQL error a target row failed with (SQLSTATE class 23). */
export interface WriteError {
  sqlstate: string;
  constraint: string | null;
  detail: string | null;
}

/**
 * Inside the batch transaction: rejected records are kept exactly when their page commits. A record refused at
 * the same stage while its letter is still pending (re-read by a later run, or twice in a page) stays one letter:
 * `seen` counts the refusals, `created_at` is the first, `last_seen_at` the latest, and everything else — reason
 * (a line number that moved, a reason `--retry` rewrote: an acceptance run got a second letter so), cursor, run,
 * id and transaction id — is the latest refusal's, so `--retry` ranks it as the version it is now.
 */
export async function insertDeadLetters(client: pg.Client, integration: string, runId: string, cursor: Cursor, letters: readonly DeadLetterInput[]): Promise<void> {
  await insertLetters(
    client,
    integration,
    runId,
    cursor,
    letters.map((l) => ({ record: l.record, reason: l.reason, stage: l.stage ?? (l.error ? 'write' : 'validate'), sqlstate: l.error?.sqlstate ?? null, constraint: l.error?.constraint ?? null, detail: l.error?.detail ?? null, httpStatus: null })),
  );
}

/** A letter as stored: every column a kind of letter may fill. */
export interface LetterRow {
  record: Record<string, unknown>;
  reason: string;
  stage: 'validate' | 'write';
  sqlstate: string | null;
  constraint: string | null;
  detail: string | null;
  httpStatus: number | null;
}

/** How many locks a page's letters take at most (a power of two): see insertLetters. */
export const LETTER_LOCK_BUCKETS = 16;

/** Letters of any kind, counted on a pending letter of the same record and stage when there is one (see insertDeadLetters). */
export async function insertLetters(client: pg.Client, integration: string, runId: string, cursor: Cursor, letters: readonly LetterRow[]): Promise<void> {
  if (!letters.length) return;
  const records = letters.map((l) => letterJson(l.record));
  const stages = letters.map((l) => l.stage);
  // Two transactions refusing one record at once (a page that crosses a take's cut, read by both shards) would
  // each find no pending letter and file one. A lock per bucket of records (one of LETTER_LOCK_BUCKETS by record
  // and stage, per integration), held to the page's commit and taken in a statement of its own so that the one
  // below sees what the other committed; in key order (no deadlock between letters). Buckets, not a lock per
  // record: PostgreSQL's lock table is shared and small (the review: 20,000 letters in a page ran it out of
  // shared memory); two pages with letters in one bucket only wait for each other's commit. Class and key are
  // two int4s: apart from the bigint keys of run locks and migrations.
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtext('tidemark.dead_letters'), k)
       FROM (SELECT DISTINCT hashtext($1::text || ' ' || (hashtext(g || ' ' || md5(r::text)) & ${LETTER_LOCK_BUCKETS - 1})) AS k
               FROM unnest($2::jsonb[], $3::text[]) AS u(r, g) ORDER BY 1) keys`,
    [integration, records, stages],
  );
  await client.query(
    `WITH u AS (
       SELECT * FROM unnest($4::jsonb[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[]) WITH ORDINALITY AS u(r, x, g, s, c, d, h, o)
     ), batch AS (
       -- One row per record and stage, as its latest refusal in the page: the letter says why it fails now.
       SELECT DISTINCT ON (r, g) r, g, x, s, c, d, h, count(*) OVER (PARTITION BY r, g)::int AS n, max(o) OVER (PARTITION BY r, g) AS latest
         FROM u ORDER BY r, g, u.o DESC
     ), earlier AS (
       -- Its pending letters (one, or several filed before migration 016) give way to one letter as new as this
       -- refusal: a fresh id and transaction id, which is what --retry ranks versions by (the review: a record
       -- refused again kept its first letter's age, and --retry applied another version over it).
       DELETE FROM tidemark.dead_letters l USING batch b
        WHERE l.integration = $1::text AND l.retried_at IS NULL AND md5(l.record::text) = md5(b.r::text)
          AND l.record = b.r AND l.stage = b.g
       RETURNING b.r, b.g, l.seen, l.created_at
     ), prior AS (
       SELECT r, g, sum(seen)::int AS seen, min(created_at) AS created_at FROM earlier GROUP BY r, g
     )
     INSERT INTO tidemark.dead_letters (integration, run_id, cursor, record, reason, stage, sqlstate, constraint_name, detail, http_status, seen, created_at, last_seen_at)
     SELECT $1::text, $2::text, $3::jsonb, b.r, b.x, b.g, b.s, b.c, b.d, b.h, b.n + coalesce(p.seen, 0), coalesce(p.created_at, now()),
            CASE WHEN p.r IS NOT NULL OR b.n > 1 THEN now() END
       FROM batch b LEFT JOIN prior p ON p.r = b.r AND p.g = b.g
      ORDER BY b.latest`, // ids in the order of the page's latest refusals
    [
      integration,
      runId,
      JSON.stringify(cursor),
      records,
      letters.map((l) => l.reason),
      stages,
      letters.map((l) => l.sqlstate),
      letters.map((l) => l.constraint),
      letters.map((l) => l.detail),
      letters.map((l) => l.httpStatus),
    ],
  );
}

export interface DeadLetterRow {
  id: string;
  run_id: string | null;
  cursor: string | null;
  record: string;
  reason: string;
  created_at: string;
  retried_at: string | null;
  /** Settled without being applied: a later write of its key made it stale (see transform/superseded-letters). */
  superseded: boolean;
  /** 'validate' (source record) or 'write' (target row the target refused) */
  stage: string;
  sqlstate: string | null;
  constraint_name: string | null;
  /** The API's HTTP status when an HTTP sink's delivery was refused (its answer is in `detail`); null otherwise. */
  http_status: number | null;
  /** How many times the record was refused while this letter was pending (1: once); the last time at last_seen_at. */
  seen: number;
  last_seen_at: string | null;
}

export async function listDeadLetters(client: pg.Client, integration: string, opts: { pendingOnly?: boolean; limit?: number } = {}): Promise<DeadLetterRow[]> {
  const r = await client.query<Omit<DeadLetterRow, 'http_status' | 'superseded' | 'seen'> & { http_status: string | number | null; superseded: string | boolean; seen: string | number }>(
    `SELECT id::text, run_id, cursor::text, record::text, reason, created_at::text, retried_at::text, superseded, stage, sqlstate, constraint_name, http_status,
            seen, last_seen_at::text
       FROM tidemark.dead_letters
      WHERE integration = $1::text AND ($2::boolean IS NOT TRUE OR retried_at IS NULL)
      ORDER BY tidemark.dead_letters.id LIMIT $3::int`, // the bigint column: a bare `id` is the SELECT's text (#1, #10, #100, #2)
    [integration, opts.pendingOnly ?? false, opts.limit ?? 1000],
  );
  // State sessions read every value as text: the status is a number in --json and to callers.
  return r.rows.map((l) => ({ ...l, superseded: l.superseded === true || l.superseded === 't', http_status: l.http_status === null ? null : Number(l.http_status), seen: Number(l.seen) }));
}

/** How many letters listDeadLetters would list without its limit (to say when a listing is cut short). */
export async function countDeadLetters(client: pg.Client, integration: string, opts: { pendingOnly?: boolean } = {}): Promise<number> {
  const r = await client.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM tidemark.dead_letters WHERE integration = $1::text AND ($2::boolean IS NOT TRUE OR retried_at IS NULL)`,
    [integration, opts.pendingOnly ?? false],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** Letters a later write of their key made stale: settled without being applied (kept for the record). */
export async function markDeadLettersSuperseded(client: pg.Client, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  await client.query('UPDATE tidemark.dead_letters SET retried_at = now(), superseded = true WHERE id = ANY($1::bigint[])', [ids]);
}

/** After a successful re-process: the letters stay for the record, marked as retried. */
export async function markDeadLettersRetried(client: pg.Client, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  await client.query('UPDATE tidemark.dead_letters SET retried_at = now() WHERE id = ANY($1::bigint[])', [ids]);
}

export async function updateDeadLetterReasons(client: pg.Client, letters: ReadonlyArray<{ id: string; reason: string }>): Promise<void> {
  if (!letters.length) return;
  await client.query(
    `UPDATE tidemark.dead_letters d SET reason = u.reason FROM unnest($1::bigint[], $2::text[]) AS u(id, reason) WHERE d.id = u.id`,
    [letters.map((l) => l.id), letters.map((l) => l.reason)],
  );
}
