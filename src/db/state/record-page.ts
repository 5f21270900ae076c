import pg from 'pg';
import type { Cursor } from '../../cursor/cursor';
import { LostOwnershipError } from './save-checkpoint';

export interface PageRecord {
  integration: string;
  slot: string;
  /** The run (its key): owns the slot, names the tidemark.runs row. */
  runId: string;
  /** Set for a shard of a sharded backfill: its counters go to its own tidemark.run_shards row. */
  shard?: number;
  /**
   * A shard's range end the page was read with: the checkpoint is fenced on it too, so a page read with the
   * old end, committing after another shard took the end of the range (steal-range.ts), rolls back.
   */
  until?: Cursor;
  /**
   * The page's cursor as the source's sort key (RangeScale.key), for a shard that may be cut: a page read with the
   * end its range had before a take still commits when this lies before the new end (see the 013 migration).
   */
  cursorKey?: string;
  cursor: Cursor;
  /** Rows the page covers (committed with it). */
  rows: number;
  /** Rows inserted or changed in the target. */
  written: number;
  rejected: number;
  /** Rows read from the source since the last commit (this page, and a page read ahead when its read finished). */
  read: number;
  /** The page's commit does not wait for its WAL flush (see page-loop's writePage for why that is safe). */
  lazyCommit?: boolean;
  /**
   * The cursor of the page before it, when this one is sent before that one's transaction has ended (see
   * send-ahead.ts): the checkpoint must stand there, so the page commits only after it, never over a gap.
   */
  after?: Cursor;
}

// The checkpoint, fenced on the owner (a shard's also on its range end, $10), and the run's counters: one statement in the page's transaction.
// A shard's page read with the end its range had before its latest cut (cut_from) passes too when its cursor's
// key ($11) lies strictly before the new end's (until_key): its records all lie before that end (at or before
// its cursor), the same whatever end they were read with; and at or after where the range stood at the cut
// (cut_floor_key), as pages in flight do. Keys compare as bytes (COLLATE "C"), as they sort.
const checkpoint = (fence = '') => `cp AS (
  UPDATE tidemark.checkpoints SET cursor = $4::jsonb, rows_done = rows_done + $5::bigint, updated_at = now()
   WHERE integration = $1::text AND slot = $2::text AND owner = $3::text${fence} RETURNING 1)`;
const OWNER_FENCE = 'owner = $3::text';
const CHECKPOINT = checkpoint();
const SHARD_CHECKPOINT = checkpoint(
  ` AND ($10::jsonb IS NULL OR coalesce(until_cursor, 'null'::jsonb) = $10::jsonb OR (cut_from = $10::jsonb AND $11::text COLLATE "C" >= cut_floor_key COLLATE "C" AND $11::text COLLATE "C" < until_key COLLATE "C"))`,
);

/** What the statement returns: whether the fenced update found the slot (the caller checks it). */
const COUNT_OWNED = 'SELECT (SELECT count(*) FROM cp)::int AS owned';

const RUN_WORK = `WITH ${CHECKPOINT}, run AS (
  UPDATE tidemark.runs SET rows_read = rows_read + $6::bigint, rows_committed = rows_committed + $5::bigint,
         rows_written = rows_written + $7::bigint, rows_rejected = rows_rejected + $8::bigint, pages = pages + 1, end_cursor = $4::jsonb
   WHERE run_id = $3::text AND EXISTS (SELECT 1 FROM cp) RETURNING 1)`;

/** The same statement, also setting the transaction's commit not to wait for the WAL flush (SET LOCAL, no extra round trip). */
const lazy = (sql: string) => `${sql}, set_config('synchronous_commit', 'off', true) AS lazy`;

// A shard's own row: shards commit side by side instead of queueing on the run's row.
const SHARD_WORK = `WITH ${SHARD_CHECKPOINT}, shard AS (
  INSERT INTO tidemark.run_shards AS s (run_id, shard, rows_read, rows_committed, rows_written, rows_rejected, pages, end_cursor)
  SELECT $3::text, $9::int, $6::bigint, $5::bigint, $7::bigint, $8::bigint, 1, $4::jsonb WHERE EXISTS (SELECT 1 FROM cp)
  ON CONFLICT (run_id, shard) DO UPDATE SET rows_read = s.rows_read + EXCLUDED.rows_read, rows_committed = s.rows_committed + EXCLUDED.rows_committed,
     rows_written = s.rows_written + EXCLUDED.rows_written, rows_rejected = s.rows_rejected + EXCLUDED.rows_rejected,
     pages = s.pages + 1, end_cursor = EXCLUDED.end_cursor, updated_at = now()
  RETURNING 1)`;

const [RUN, SHARD] = [`${RUN_WORK}\n${COUNT_OWNED}`, `${SHARD_WORK}\n${COUNT_OWNED}`];
const RUN_LAZY = lazy(RUN);
const SHARD_LAZY = lazy(SHARD);

// The same work for a script that also holds the page's COPY and COMMIT (recordPageScript): the owner
// check raises instead of returning a count (see the 011 migration), so the script stops before its COMMIT.
// A SELECT without FROM: evaluated exactly once, whatever the CTEs found.
const REQUIRE_OWNED = 'SELECT tidemark.require_slot_owner((SELECT count(*) FROM cp), $1::text, $2::text, $3::text) AS owned';
const [RUN_SCRIPT, SHARD_SCRIPT] = [`${RUN_WORK}\n${REQUIRE_OWNED}`, `${SHARD_WORK}\n${REQUIRE_OWNED}`];

/**
 * Inside the page's transaction: advance the checkpoint (fenced on the owner: a superseded run's page
 * rolls back with LostOwnershipError) and add the page to the run's counters, in one statement.
 */
export async function recordPage(client: pg.Client, p: PageRecord): Promise<void> {
  const text = p.shard === undefined ? (p.lazyCommit ? RUN_LAZY : RUN) : p.lazyCommit ? SHARD_LAZY : SHARD;
  const r = await client.query<{ owned: number | string }>(text, valuesOf(p));
  if (Number(r.rows[0]?.owned) !== 1) throw new LostOwnershipError(p.integration, p.slot, p.runId);
}

/**
 * recordPage as literal SQL (no parameters; one row, unread) for a page's one-round-trip script
 * (PostgresSink.writeCopy's `{ sql }` form). Lost ownership raises SQLSTATE TMOWN, which stops the script
 * before its COMMIT; ownershipLost() turns that error into LostOwnershipError.
 */
export function recordPageScript(p: PageRecord): string {
  const values = valuesOf(p);
  const script = p.shard === undefined ? RUN_SCRIPT : SHARD_SCRIPT;
  // The UPDATE waits for the page before it (it holds the row) and then sees its cursor, or the old one if it rolled back.
  const text = p.after === undefined ? script : script.replace(OWNER_FENCE, `${OWNER_FENCE} AND cursor = $0::jsonb`);
  return (p.lazyCommit ? lazy(text) : text).replace(/\$(\d+)/g, (_, n: string) => {
    const v = n === '0' ? JSON.stringify(p.after) : values[Number(n) - 1];
    return v === null ? 'NULL' : pg.escapeLiteral(String(v));
  });
}

/** The page's script failed because the run lost the slot: the error to throw instead (else undefined). */
export function ownershipLost(err: unknown, p: Pick<PageRecord, 'integration' | 'slot' | 'runId'>): LostOwnershipError | undefined {
  return (err as { code?: unknown } | null)?.code === 'TMOWN' ? new LostOwnershipError(p.integration, p.slot, p.runId) : undefined;
}

function valuesOf(p: PageRecord): unknown[] {
  const values: unknown[] = [p.integration, p.slot, p.runId, JSON.stringify(p.cursor), p.rows, p.read, p.written, p.rejected];
  return p.shard === undefined ? values : [...values, p.shard, p.until === undefined ? null : JSON.stringify(p.until), p.cursorKey ?? null];
}
