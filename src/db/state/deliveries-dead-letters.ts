import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';
import { insertLetters } from './dead-letters';

export interface DeliveryDeadLetter {
  record: Record<string, unknown>;
  reason: string;
  /** The API's status; absent when the request could not be built (a template failed on this record). */
  httpStatus?: number;
  /** The API's answer, secrets masked. */
  body?: string;
}

/** Inside the page's transaction: records the API refused are kept exactly when their page commits (a record refused again while its letter is pending stays one letter, as the latest refusal: see insertDeadLetters). */
export async function insertDeliveryDeadLetters(client: pg.Client, integration: string, runId: string, cursor: Cursor, letters: readonly DeliveryDeadLetter[]): Promise<void> {
  await insertLetters(
    client,
    integration,
    runId,
    cursor,
    letters.map((l) => ({ record: l.record, reason: l.reason, stage: 'write', sqlstate: null, constraint: null, detail: l.body ?? null, httpStatus: l.httpStatus ?? null })),
  );
}
