import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

export interface DeliveryDeadLetter {
  record: Record<string, unknown>;
  reason: string;
  /** The API's status; absent when the request could not be built (a template failed on this record). */
  httpStatus?: number;
  /** The API's answer, secrets masked. */
  body?: string;
}

/** Inside the page's transaction: records the API refused are kept exactly when their page commits. */
export async function insertDeliveryDeadLetters(client: pg.Client, integration: string, runId: string, cursor: Cursor, letters: readonly DeliveryDeadLetter[]): Promise<void> {
  if (!letters.length) return;
  await client.query(
    `INSERT INTO tidemark.dead_letters (integration, run_id, cursor, record, reason, stage, http_status, detail)
     SELECT $1::text, $2::text, $3::jsonb, r, x, 'write', s, d
       FROM unnest($4::jsonb[], $5::text[], $6::int[], $7::text[]) AS u(r, x, s, d)`,
    [
      integration,
      runId,
      JSON.stringify(cursor),
      letters.map((l) => JSON.stringify(l.record)),
      letters.map((l) => l.reason),
      letters.map((l) => l.httpStatus ?? null),
      letters.map((l) => l.body ?? null),
    ],
  );
}
