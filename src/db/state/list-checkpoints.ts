import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

export interface CheckpointSlotView {
  slot: string;
  cursor: Cursor;
  status: string;
  owner: string | null;
  rowsDone: number;
  updatedAt: string;
}

/** Every slot of an integration (sync, backfill, shards in order), for `tidemark checkpoint show`. */
export async function listCheckpoints(client: pg.Client, integration: string): Promise<CheckpointSlotView[]> {
  const r = await client.query<Record<string, string | null>>(
    `SELECT slot, cursor::text, status, owner, rows_done::text, updated_at::text
       FROM tidemark.checkpoints WHERE integration = $1::text
      ORDER BY slot <> 'sync', slot <> 'backfill', CASE WHEN slot LIKE 'backfill/%' THEN substr(slot, 10)::int END, slot`,
    [integration],
  );
  return r.rows.map((row) => ({
    slot: row.slot as string,
    cursor: row.cursor === null ? null : (JSON.parse(row.cursor as string) as Cursor),
    status: row.status as string,
    owner: row.owner ?? null,
    rowsDone: Number(row.rows_done),
    updatedAt: row.updated_at as string,
  }));
}
