import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CustomSinkConfig, HttpSinkConfig } from '../config/sink-schema';
import type { Cursor } from '../cursor/cursor';
import { keepLetterCursors } from '../db/state/dead-letters-keep-cursor';
import { settleRetriedLetters } from '../db/state/dead-letters-settle-retry';
import { createSink } from '../sinks/create-sink';
import type { ColumnSpec } from '../sources/source';

/** Records to re-send, aligned with `columns`, with the letters they come from. */
export interface SinkRetryBatch {
  columns: ColumnSpec[];
  ids: string[];
  rows: (string | null)[][];
  /** Each row's letter: its record as stored (JSON text) and cursor, which a letter the sink files again keeps. */
  letters: Array<{ record: string; cursor: Cursor }>;
}

/** Records per transaction: a retry of thousands of letters commits as it goes (each batch is whole or nothing). */
const RECORDS_PER_TX = 500;

/**
 * Re-sends dead letters through a sink of the Sink contract (http, custom), one transaction per batch on
 * the state database: the sink writes its ledger rows and the letters of what it still refuses (each taking its
 * pending letter's place), then settleRetriedLetters marks the rest retried.
 */
export async function retryThroughSink(db: pg.Client, cfg: HttpSinkConfig | CustomSinkConfig, integration: string, env: NodeJS.ProcessEnv, stateDbUrl: string, batches: readonly SinkRetryBatch[]) {
  let written = 0;
  const stillFailing: Array<{ id: string; reason: string }> = [];
  for (const b of batches) {
    // A sink is prepared for one set of columns: one per batch shape.
    const sink = await createSink(cfg, integration, env, stateDbUrl);
    try {
      await sink.prepare(b.columns);
      for (let at = 0; at < b.rows.length; at += RECORDS_PER_TX) {
        const runId = `dead-letters-retry-${randomUUID()}`;
        const ids = b.ids.slice(at, at + RECORDS_PER_TX);
        const letters = b.letters.slice(at, at + RECORDS_PER_TX);
        await db.query('BEGIN');
        try {
          const res = await sink.write(db, { rows: b.rows.slice(at, at + RECORDS_PER_TX), cursor: letters[0]?.cursor ?? null }, { integration, runId, resending: ids });
          await keepLetterCursors(db, integration, runId, letters);
          stillFailing.push(...(await settleRetriedLetters(db, integration, [...new Set(ids)], runId)));
          await db.query('COMMIT');
          written += res.written;
        } catch (err) {
          await db.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } finally {
      await sink.close();
    }
  }
  return { written, stillFailing };
}

/**
 * A refused delivery's letter holds the record as sent (JSON values). Typed columns turn it back into
 * PostgreSQL text that the sink decodes to the same values, so the content hash (and the idempotency key)
 * is the record's own: numbers stay numbers, booleans booleans, objects and arrays JSON.
 */
export function rowOfSentRecord(record: Record<string, unknown>): { columns: ColumnSpec[]; row: (string | null)[] } {
  const columns: ColumnSpec[] = [];
  const row: (string | null)[] = [];
  for (const [name, v] of Object.entries(record)) {
    const type = typeof v === 'number' ? 'numeric' : typeof v === 'boolean' ? 'boolean' : v !== null && typeof v === 'object' ? 'jsonb' : 'text';
    columns.push({ name, type, notNull: false });
    row.push(v === null || v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return { columns, row };
}
