import type { Integration } from '../config/schema';
import { resolveEnvRefs } from '../config/env-refs';
import { closeQuietly, connect } from '../db/connect';
import { migrate } from '../db/migrate';
import * as state from '../db/state';
import { PostgresSink } from '../sinks/postgres-sink';
import { RecordPipeline, type SourceRecord } from './record-pipeline';

export interface RetryReport {
  pending: number;
  written: number;
  stillFailing: Array<{ id: string; reason: string }>;
}

/**
 * Re-processes an integration's pending dead letters with the current config (after a fix to the
 * mapping, the rules or the data): records that now pass are upserted and marked retried in one
 * transaction; the others keep their letter with the new reason. Holds the integration's lock so no
 * run writes at the same time.
 */
export async function retryDeadLetters(it: Integration, env: NodeJS.ProcessEnv = process.env): Promise<RetryReport> {
  const db = await connect(resolveEnvRefs(it.sink.url, `integrations[${it.id}].sink.url`, env), { applicationName: 'tidemark-dead-letters' });
  try {
    await migrate(db);
    if (!(await state.tryLockIntegration(db, it.id))) {
      throw new Error(`integration "${it.id}" is busy (a run is writing): retry the dead letters when it is done`);
    }
    const letters = await state.listDeadLetters(db, it.id, { pendingOnly: true, limit: 100_000 });
    if (!letters.length) return { pending: 0, written: 0, stillFailing: [] };
    const records = letters.map((l) => JSON.parse(l.record) as SourceRecord);
    const names = [...new Set(records.flatMap((r) => Object.keys(r)))];
    const pipeline = new RecordPipeline(names.map((name) => ({ name, type: 'text', notNull: false })), it.mapping, it.validate);
    const okIds: string[] = [];
    const good: (string | null)[][] = [];
    const stillFailing: RetryReport['stillFailing'] = [];
    records.forEach((record, i) => {
      const { good: rows, rejected } = pipeline.processRecords([record]);
      const id = (letters[i] as { id: string }).id;
      if (rejected[0]) stillFailing.push({ id, reason: rejected[0].reason });
      else {
        okIds.push(id);
        good.push(rows[0] as (string | null)[]);
      }
    });
    const sink = new PostgresSink(db, { ...it.sink, create: false });
    await sink.prepare(pipeline.columns, { allowDirect: false });
    const res = await sink.writeBatch(good, async (tx) => state.markDeadLettersRetried(tx, okIds));
    await state.updateDeadLetterReasons(db, stillFailing);
    return { pending: letters.length, written: res.written, stillFailing };
  } finally {
    await closeQuietly(db);
  }
}
