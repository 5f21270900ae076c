import type pg from 'pg';
import type { Cursor, JsonValue } from '../../cursor/cursor';

/** Slot name of shard `index` of an integration's backfill. */
export function shardSlot(index: number): string {
  return `backfill/${index}`;
}

export interface ShardRange {
  /** Exclusive lower end (null = the start). */
  from: Cursor;
  /** Inclusive upper end (null = up to the high-water mark). */
  until: Cursor;
}

export interface ShardSlot {
  index: number;
  cursor: Cursor;
  /** Where the slot's current range starts (its plan's lower end, or where it took over part of another's). */
  start: Cursor;
  until: Cursor;
  status: 'running' | 'done';
  rowsDone: number;
  owner: string | null;
  /** Where the range to the high-water mark ended, once this slot read it to its end (finish-checkpoint.ts). */
  end?: Cursor;
}

/**
 * A new sharded backfill replaces the integration's previous backfill slots (sharded or not) with one
 * slot per range, all owned by the new run: any writer of the old ones is fenced off (saveCheckpoint).
 */
export async function createShardSlots(client: pg.Client, integration: string, owner: string, highWater: string | null, ranges: ShardRange[], cursorOf: JsonValue = null): Promise<void> {
  await client.query('BEGIN');
  try {
    await deleteBackfillSlots(client, integration);
    await client.query(
      `INSERT INTO tidemark.checkpoints (integration, slot, cursor, start_cursor, until_cursor, owner, high_water, status, rows_done, cursor_of)
       SELECT $1::text, 'backfill/' || (r.i - 1), r.f, r.f, r.u, $2::text, $3::text, 'running', 0, $6::jsonb
         FROM unnest($4::jsonb[], $5::jsonb[]) WITH ORDINALITY AS r(f, u, i)`,
      [integration, owner, highWater, ranges.map((r) => JSON.stringify(r.from)), ranges.map((r) => JSON.stringify(r.until)), cursorOf === null ? null : JSON.stringify(cursorOf)],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Removes every backfill slot of the integration ('backfill' and 'backfill/<n>'). */
export async function deleteBackfillSlots(client: pg.Client, integration: string, only: 'all' | 'shards' = 'all'): Promise<void> {
  await client.query(
    `DELETE FROM tidemark.checkpoints WHERE integration = $1::text AND (slot LIKE 'backfill/%' OR ($2::boolean AND slot = 'backfill'))`,
    [integration, only === 'all'],
  );
}

/** The shard slots' columns as ShardSlot reads them (from tidemark.checkpoints). */
export const SHARD_SLOT_COLUMNS = `substr(slot, 10)::int::text AS i, cursor::text, start_cursor::text, until_cursor::text, status, rows_done::text, owner, end_cursor::text`;

export async function listShardSlots(client: pg.Client, integration: string): Promise<ShardSlot[]> {
  const r = await client.query<Record<string, string | null>>(
    `SELECT ${SHARD_SLOT_COLUMNS} FROM tidemark.checkpoints WHERE integration = $1::text AND slot LIKE 'backfill/%' ORDER BY substr(slot, 10)::int`,
    [integration],
  );
  return r.rows.map(shardSlotOf);
}

export function shardSlotOf(row: Record<string, string | null>): ShardSlot {
  const json = (v: string | null | undefined) => (v === null || v === undefined ? null : (JSON.parse(v) as Cursor));
  return {
    index: Number(row.i),
    cursor: json(row.cursor),
    start: json(row.start_cursor),
    until: json(row.until_cursor),
    status: row.status as 'running' | 'done',
    rowsDone: Number(row.rows_done),
    owner: row.owner ?? null,
    ...(row.end_cursor === null || row.end_cursor === undefined ? {} : { end: JSON.parse(row.end_cursor) as Cursor }),
  };
}

/** A resume takes over every shard slot (the old owner is fenced off); finished shards stay done. */
export async function takeOverShardSlots(client: pg.Client, integration: string, owner: string): Promise<void> {
  await client.query(`UPDATE tidemark.checkpoints SET owner = $2::text, updated_at = now() WHERE integration = $1::text AND slot LIKE 'backfill/%'`, [integration, owner]);
}
