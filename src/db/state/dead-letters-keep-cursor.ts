import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

/**
 * Inside a dead-letter retry's transaction through a sink: the letters the sink filed again (run_id = `retryRunId`)
 * for records it still refuses take the cursor of the letter each replaced, matched by record, not the cursor of
 * the batch they were sent in (an acceptance run: every letter made anew had the first one's). A letter whose record
 * changed on the way (a validation letter, mapped before it was sent) keeps the batch's.
 */
export async function keepLetterCursors(client: pg.Client, integration: string, retryRunId: string, letters: ReadonlyArray<{ record: string; cursor: Cursor }>): Promise<void> {
  if (!letters.length) return;
  await client.query(
    `UPDATE tidemark.dead_letters l SET cursor = c.cursor
       FROM (SELECT DISTINCT ON (r) r, cursor FROM unnest($3::jsonb[], $4::jsonb[]) WITH ORDINALITY AS u(r, cursor, o) ORDER BY r, o DESC) c
      WHERE l.integration = $1::text AND l.run_id = $2::text AND l.record = c.r`,
    [integration, retryRunId, letters.map((l) => l.record), letters.map((l) => JSON.stringify(l.cursor))],
  );
}
