import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CustomSinkConfig, HttpSinkConfig } from '../config/sink-schema';
import type { Cursor } from '../cursor/cursor';
import { settleRetriedLetters } from '../db/state/dead-letters-settle-retry';
import { createSink } from '../sinks/create-sink';
import type { ColumnSpec } from '../sources/source';

/** Records to re-send, aligned with `columns`, with the letters they come from. */
export interface SinkRetryBatch {
  columns: ColumnSpec[];
  ids: string[];
  rows: (string | null)[][];
  /** Each row's letter's cursor: a letter the sink refuses again is made anew with it (the record's own, not the batch's). */
  cursors: Cursor[];
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
      for (const { at, end } of runsOfOneCursor(b.cursors, RECORDS_PER_TX)) {
        const runId = `dead-letters-retry-${randomUUID()}`;
        const ids = b.ids.slice(at, end);
        await db.query('BEGIN');
        try {
          const res = await sink.write(db, { rows: b.rows.slice(at, end), cursor: b.cursors[at] ?? null }, { integration, runId, resending: ids });
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
 * Stretches `[at, end)` of rows with one cursor, at most `max` long: a page carries one cursor, and the letters a
 * sink makes of what it refuses take the page's (an acceptance run: every re-filed letter had the first one's).
 * Letters of one page are neighbours (listed by id), so this is one write per page they came from.
 */
export function runsOfOneCursor(cursors: readonly Cursor[], max: number): Array<{ at: number; end: number }> {
  const out: Array<{ at: number; end: number }> = [];
  for (let at = 0; at < cursors.length; ) {
    const key = JSON.stringify(cursors[at] ?? null);
    let end = at + 1;
    while (end < cursors.length && end - at < max && JSON.stringify(cursors[end] ?? null) === key) end++;
    out.push({ at, end });
    at = end;
  }
  return out;
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
