import type pg from 'pg';

/**
 * A slot read its range to the end. A shard's range to the high-water mark (until null) keeps where it ended
 * (end_cursor): the shard may take part of another range next, and the sync after the backfill starts there.
 */
export async function finishCheckpoint(client: pg.Client, integration: string, slot: string, owner: string): Promise<void> {
  await client.query(
    `UPDATE tidemark.checkpoints SET status = 'done', updated_at = now(), caught_up = high_water,
            end_cursor = CASE WHEN slot LIKE 'backfill/%' AND coalesce(until_cursor, 'null'::jsonb) = 'null'::jsonb THEN cursor ELSE end_cursor END
      WHERE integration = $1::text AND slot = $2::text AND owner = $3::text`,
    [integration, slot, owner],
  );
}

/**
 * Hand-off: the first incremental run after a backfill continues from where the backfill read to. It caught up to
 * the backfill's high-water mark (its slots' caught_up, set by finishCheckpoint just before), as a sync would have:
 * without it, lag read as the newest row's age (years, for a quiet table: an acceptance run).
 */
export async function seedSyncCheckpoint(client: pg.Client, integration: string, cursor: unknown, opts: { replace?: boolean; cursorOf?: unknown } = {}): Promise<boolean> {
  // `replace`: a sync checkpoint there already moves too (the caller's judgement: a backfill from the start that read
  // past it; an acceptance run: a second backfill left the sync 300 rows behind). Else only an unset one is seeded.
  const r = await client.query(
    `INSERT INTO tidemark.checkpoints (integration, slot, cursor, start_cursor, status, cursor_of, caught_up)
     VALUES ($1::text, 'sync', $2::jsonb, $2::jsonb, 'done', $4::jsonb,
             (SELECT b.caught_up FROM tidemark.checkpoints b
               WHERE b.integration = $1::text AND (b.slot = 'backfill' OR b.slot LIKE 'backfill/%') AND b.caught_up IS NOT NULL
               ORDER BY b.updated_at DESC LIMIT 1))
     ON CONFLICT (integration, slot) DO UPDATE SET cursor = EXCLUDED.cursor, cursor_of = EXCLUDED.cursor_of, caught_up = EXCLUDED.caught_up, updated_at = now()
      WHERE tidemark.checkpoints.cursor IS NULL OR tidemark.checkpoints.cursor = 'null'::jsonb OR $3::boolean`,
    [integration, JSON.stringify(cursor), opts.replace ?? false, opts.cursorOf == null ? null : JSON.stringify(opts.cursorOf)],
  );
  return (r.rowCount ?? 0) > 0;
}
