import type pg from 'pg';
import { PermanentError } from '../../errors';
import type { Cursor } from '../../cursor/cursor';

export class LostOwnershipError extends PermanentError {
  override readonly name = 'LostOwnershipError';
  constructor(
    readonly integration: string,
    readonly slot: string,
    readonly owner: string,
  ) {
    super(`checkpoint ${integration}/${slot} was taken over by another run; this run (${owner}) stopped without writing`);
  }
}

/** Inside the batch transaction: advance the cursor, fenced on the owner (rolls the batch back if not). */
export async function saveCheckpoint(client: pg.Client, integration: string, slot: string, owner: string, cursor: Cursor, rows: number): Promise<void> {
  const r = await client.query(
    `UPDATE tidemark.checkpoints SET cursor = $4::jsonb, rows_done = rows_done + $5::bigint, updated_at = now()
      WHERE integration = $1::text AND slot = $2::text AND owner = $3::text`,
    [integration, slot, owner, JSON.stringify(cursor), rows],
  );
  if (r.rowCount !== 1) throw new LostOwnershipError(integration, slot, owner);
}
