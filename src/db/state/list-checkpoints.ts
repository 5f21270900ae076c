import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

export interface CheckpointSlotView {
  slot: string;
  cursor: Cursor;
  status: string;
  owner: string | null;
  rowsDone: number;
  updatedAt: string;
  /** The status of the run that owns the slot (tidemark.runs), when known. */
  runStatus?: string;
  /** The run bound its last run read to, when it did (status done): see lagTime. */
  caughtUp?: string;
}

/**
 * A slot's status as an operator should read it: `running` means "not done" in the table (the next run continues
 * from it), so a slot whose run ended (failed, cancelled) reads `unfinished (run cancelled)`, not as if it were writing.
 */
export function slotStatusText(s: { status: string; runStatus?: string | undefined }): string {
  return s.status === 'running' && s.runStatus && s.runStatus !== 'running' ? `unfinished (run ${s.runStatus})` : s.status;
}

/** Every slot of an integration (sync, backfill, shards in order), for `tidemark checkpoint show`. */
export async function listCheckpoints(client: pg.Client, integration: string): Promise<CheckpointSlotView[]> {
  const r = await client.query<Record<string, string | null>>(
    `SELECT c.slot, c.cursor::text, c.status, c.owner, c.rows_done::text, c.updated_at::text, r.status AS run_status, c.caught_up
       FROM tidemark.checkpoints c LEFT JOIN tidemark.runs r ON r.run_id = c.owner WHERE c.integration = $1::text
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
    ...(row.run_status ? { runStatus: row.run_status } : {}),
    ...(row.caught_up ? { caughtUp: row.caught_up } : {}),
  }));
}
