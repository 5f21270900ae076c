import type pg from 'pg';
import type { Cursor, JsonValue } from '../../cursor/cursor';

export interface Claim {
  integration: string;
  slot: string;
  owner: string;
  cursor: Cursor;
  highWater: string | null;
  /** true: restart the slot's counters and start_cursor (a new run); false: keep them (retry, resume). */
  reset: boolean;
  /** What the cursor is a position of (cursorIdentity): a later run under other cursor columns refuses the slot. */
  cursorOf?: JsonValue;
}

/** Makes `owner` the slot's only writer; saveCheckpoint fences on it, so a superseded run cannot write. */
export async function claimCheckpoint(client: pg.Client, c: Claim): Promise<void> {
  await client.query(
    `INSERT INTO tidemark.checkpoints AS cp (integration, slot, cursor, start_cursor, owner, high_water, status, rows_done, cursor_of)
     VALUES ($1::text, $2::text, $3::jsonb, $3::jsonb, $4::text, $5::text, 'running', 0, $7::jsonb)
     ON CONFLICT (integration, slot) DO UPDATE SET
       owner = EXCLUDED.owner,
       high_water = EXCLUDED.high_water,
       status = 'running',
       cursor = EXCLUDED.cursor,
       cursor_of = EXCLUDED.cursor_of,
       start_cursor = CASE WHEN $6::boolean THEN EXCLUDED.start_cursor ELSE cp.start_cursor END,
       rows_done = CASE WHEN $6::boolean THEN 0 ELSE cp.rows_done END,
       updated_at = now()`,
    [c.integration, c.slot, JSON.stringify(c.cursor), c.owner, c.highWater, c.reset, c.cursorOf == null ? null : JSON.stringify(c.cursorOf)],
  );
}
