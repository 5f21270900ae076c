import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';
import { SHARD_SLOT_COLUMNS, shardSlot, shardSlotOf, type ShardSlot } from './shard-slots';

/** Which slot gives up the end of its range, and where that end now starts. */
export interface StealChoice {
  victim: number;
  at: Cursor;
  /**
   * The source's sort keys (RangeScale.key) of `at` and of where the victim stands: its pages read before the take
   * that lie between them still commit (record-page.ts). None: only the exact new end counts.
   */
  keys?: { cut: string; floor: string };
}

/**
 * Work stealing between the shards of a backfill, in one transaction: with every slot of the run locked (in
 * slot order, so two thieves queue instead of deadlocking), `choose` (shown every slot, the thief's own done)
 * picks a running slot and a cursor inside what it has left; that slot's range now ends there, and the thief's
 * slot (`self`) takes the rest, from that cursor to the victim's old end. The victim finds out at its first
 * page past the cut: a page's checkpoint is fenced on the range end it was read with (record-page.ts), or, with
 * the cut's key, on lying before the new end; the first page that does not rolls back and is read again up to
 * the new end. Returns the thief's new range, or undefined (nothing worth taking, or the run no longer owns the
 * slots).
 */
export async function stealRange(
  client: pg.Client,
  integration: string,
  owner: string,
  self: number,
  choose: (slots: ShardSlot[]) => StealChoice | undefined,
): Promise<{ cursor: Cursor; until: Cursor } | undefined> {
  await client.query('BEGIN');
  try {
    const r = await client.query<Record<string, string | null>>(
      `SELECT ${SHARD_SLOT_COLUMNS} FROM tidemark.checkpoints
        WHERE integration = $1::text AND slot LIKE 'backfill/%' ORDER BY slot FOR UPDATE`,
      [integration],
    );
    const slots = r.rows.map(shardSlotOf);
    const choice = slots.every((s) => s.owner === owner) ? choose(slots) : undefined;
    const victim = choice && choice.victim !== self ? slots.find((s) => s.index === choice.victim && s.status === 'running') : undefined;
    if (!choice || !victim) {
      await client.query('ROLLBACK');
      return undefined;
    }
    const at = JSON.stringify(choice.at);
    // cut_from: the end the victim's pages in flight were read with (SET reads the row as it was).
    await client.query(
      `UPDATE tidemark.checkpoints SET until_cursor = $3::jsonb, cut_from = coalesce(until_cursor, 'null'::jsonb), until_key = $4::text,
             cut_floor_key = $5::text, updated_at = now()
        WHERE integration = $1::text AND slot = $2::text`,
      [integration, shardSlot(victim.index), at, choice.keys?.cut ?? null, choice.keys?.floor ?? null],
    );
    await client.query(
      `UPDATE tidemark.checkpoints SET cursor = $3::jsonb, start_cursor = $3::jsonb, until_cursor = $4::jsonb, cut_from = NULL, until_key = NULL, cut_floor_key = NULL, status = 'running', updated_at = now()
        WHERE integration = $1::text AND slot = $2::text`,
      [integration, shardSlot(self), at, JSON.stringify(victim.until)],
    );
    await client.query('COMMIT');
    return { cursor: choice.at, until: victim.until };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
