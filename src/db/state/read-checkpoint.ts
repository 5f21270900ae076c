import type pg from 'pg';
import type { Cursor, JsonValue } from '../../cursor/cursor';

export interface CheckpointRow {
  cursor: Cursor;
  rowsDone: number;
  owner: string | null;
  highWater: string | null;
  startCursor: Cursor;
  /** A shard's inclusive upper end; null for unsharded slots. */
  untilCursor: Cursor;
  status: 'running' | 'done';
  updatedAt: string;
  /** What the cursor is a position of when it was saved (cursorIdentity); null: not recorded (before migration 018). */
  cursorOf: JsonValue;
}

export async function readCheckpoint(client: pg.Client, integration: string, slot: string): Promise<CheckpointRow | undefined> {
  const r = await client.query<Record<string, string | null>>(
    `SELECT cursor::text, rows_done::text, owner, high_water, start_cursor::text, until_cursor::text, status, updated_at::text, cursor_of::text
       FROM tidemark.checkpoints WHERE integration = $1::text AND slot = $2::text`,
    [integration, slot],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    cursor: row.cursor === null ? null : (JSON.parse(row.cursor as string) as Cursor),
    rowsDone: Number(row.rows_done),
    owner: row.owner ?? null,
    highWater: row.high_water ?? null,
    startCursor: row.start_cursor ? (JSON.parse(row.start_cursor) as Cursor) : null,
    untilCursor: row.until_cursor ? (JSON.parse(row.until_cursor) as Cursor) : null,
    status: row.status as 'running' | 'done',
    updatedAt: row.updated_at as string,
    cursorOf: row.cursor_of ? (JSON.parse(row.cursor_of) as JsonValue) : null,
  };
}
