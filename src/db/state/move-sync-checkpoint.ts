import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

/**
 * `tidemark checkpoint set|reset`: the next sync starts after `cursor` (null: from the beginning). The
 * row is kept (a reset stores null rather than deleting it) because a missing checkpoint lets a
 * scheduled run fall back to its previous result, which would undo the reset. No owner: the next run claims it. Its
 * lag is the cursor's again (caught_up cleared): the rows after it are to be read again.
 */
export async function moveSyncCheckpoint(client: pg.Client, integration: string, cursor: Cursor, cursorOf: unknown = null): Promise<void> {
  await client.query(
    `INSERT INTO tidemark.checkpoints AS cp (integration, slot, cursor, start_cursor, status, rows_done, cursor_of)
     VALUES ($1::text, 'sync', $2::jsonb, $2::jsonb, 'done', 0, $3::jsonb)
     ON CONFLICT (integration, slot) DO UPDATE SET cursor = EXCLUDED.cursor, cursor_of = EXCLUDED.cursor_of, owner = NULL, status = 'done', rows_done = 0, caught_up = NULL, updated_at = now()`,
    [integration, JSON.stringify(cursor), cursorOf == null ? null : JSON.stringify(cursorOf)],
  );
}
