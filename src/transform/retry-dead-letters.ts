import { describeRefusal } from '../activities/constraint-errors';
import { isRefusedRow, writeIsolatingBadRows } from '../activities/isolate-bad-rows';
import { isCsvSource, isHttpSource, isPostgresSource, type Integration } from '../config/schema';
import { isHttpSink, isPostgresSink, type CustomSinkConfig, type HttpSinkConfig, type PostgresSinkConfig, stateDbUrlOf } from '../config/sink-schema';
import { canonicalJson } from '../sinks/http/delivery-keys';
import { sentForms } from '../sinks/http/record-values';
import type pg from 'pg';
import { withStateSession } from '../db/state-session';
import * as state from '../db/state';
import { encodeCopyRows } from '../pg/copy-text';
import { PostgresSink } from '../sinks/postgres-sink';
import { createSource } from '../sources/create-source';
import { declaredColumns } from '../sources/declared-columns';
import type { ColumnSpec } from '../sources/source';
import { RecordPipeline, type SourceRecord } from './record-pipeline';
import { retryThroughSink, rowOfSentRecord, type SinkRetryBatch } from './retry-sink-letters';
import { rowKeys, supersededRows } from './superseded-letters';
import { csvLetterProblem } from './csv-letter-check';

export interface RetryReport {
  pending: number;
  written: number;
  /** Letters a later write of their key made stale: settled, not applied (superseded-letters.ts). */
  superseded: number;
  stillFailing: Array<{ id: string; reason: string }>;
  /** Letters asked for by id (`--letter N`) that are not pending letters of this integration, and why. */
  notPending?: Array<{ id: string; why: string }>;
}

/** One line for the CLI and the UI. */
export function retrySummary(r: RetryReport): string {
  const stale = r.superseded ? `, ${r.superseded} superseded by a later write of their key (not applied)` : '';
  return `${r.pending} pending dead letter(s) re-processed: ${r.pending - r.superseded - r.stillFailing.length} now pass (${r.written} rows written)${stale}, ${r.stillFailing.length} still failing`;
}

/** Target rows ready to write, with the letters they come from. */
interface Batch {
  columns: ColumnSpec[];
  ids: string[];
  rows: (string | null)[][];
}

/**
 * Re-processes an integration's pending dead letters with the current config (after a fix to the
 * mapping, the rules, the data or the target table): records that now pass are upserted and marked
 * retried in one transaction; the others keep their letter with the new reason. Letters of rows the
 * target refused ('write') hold the target row itself and skip the mapping; validation letters
 * ('validate') go through it again. Rows the target still refuses stay, with the constraint named.
 * Holds the integration's lock so no run writes at the same time. Sinks other than postgres (an API) get
 * the records again through the Sink contract (see retry-sink-letters): a record it still refuses keeps one
 * letter, made anew with the new status and reason (see insertDeadLetters).
 */
export async function retryDeadLetters(it: Integration, env: NodeJS.ProcessEnv = process.env, opts: { ids?: readonly string[] } = {}): Promise<RetryReport> {
  const busy = () => new Error(`integration "${it.id}" is busy (a run is writing): retry the dead letters when it is done`);
  const url = stateDbUrlOf(it, env);
  return withStateSession(url, { applicationName: 'tidemark-dead-letters', lock: { integration: it.id, busy } }, (db) => retryDeadLettersOn(db, it, env, opts));
}

/** The same on an open state session whose caller holds the integration's lock (a run with `retryDeadLetters: eachRun`). */
export async function retryDeadLettersOn(db: pg.Client, it: Integration, env: NodeJS.ProcessEnv, opts: { ids?: readonly string[] } = {}): Promise<RetryReport> {
  const pending = await state.listDeadLetters(db, it.id, { pendingOnly: true, limit: 100_000 });
  // `ids`: only these letters (one from the operator's page, or `--letter N`); the rest stay pending.
  const letters = opts.ids ? pending.filter((l) => opts.ids?.includes(String(l.id))) : pending;
  // Never a silent no-op: a letter asked for that is not pending here is named with why (an acceptance run: exit 0).
  const notPending = opts.ids ? await whyNotPending(db, it.id, opts.ids.filter((id) => !letters.some((l) => l.id === id))) : [];
  const asked = notPending.length ? { notPending } : {};
  if (!letters.length) return { pending: 0, written: 0, superseded: 0, stillFailing: [], ...asked };
  const stillFailing: RetryReport['stillFailing'] = [];
  const batches: Batch[] = [];

  const validate = letters.filter((l) => l.stage !== 'write');
  /** Letters whose record now passes and makes no row (a module that skips it): nothing to write, settled all the same. */
  const passedEmpty: string[] = [];
  if (validate.length) {
    const records = validate.map((l) => JSON.parse(l.record) as SourceRecord);
    const pipeline = new RecordPipeline(await sourceColumnsFor(it, records, env), it.mapping, it.validate);
    const batch: Batch = { columns: pipeline.columns, ids: [], rows: [] };
    // A CSV source's own checks first: the letter may be one it refused while reading.
    const sourceProblem = isCsvSource(it.source) ? csvLetterProblem(it.source) : undefined;
    for (const [i, record] of records.entries()) {
      const letter = validate[i] as { id: string; reason: string };
      const id = letter.id;
      const refused = sourceProblem?.(record, letter.reason);
      if (refused) {
        stillFailing.push({ id, reason: refused });
        continue;
      }
      const { good: rows, rejected } = await pipeline.processRecords([record]);
      if (rejected[0]) stillFailing.push({ id, reason: rejected[0].reason });
      else if (!rows.length) passedEmpty.push(id);
      // A mapping module may make several target rows of one record, or none.
      for (const row of rows) {
        batch.ids.push(id);
        batch.rows.push(row);
      }
    }
    batches.push(batch);
  }
  // Target rows (or records sent to an API), grouped by their columns (one group unless the target changed between runs).
  const byColumns = new Map<string, Batch>();
  for (const l of letters.filter((x) => x.stage === 'write')) {
    const record = JSON.parse(l.record) as Record<string, unknown>;
    const { columns, row } = isPostgresSink(it.sink) ? textRow(record) : rowOfSentRecord(record);
    const key = columns.map((c) => `${c.name} ${c.type}`).join('\t');
    const batch = byColumns.get(key) ?? { columns, ids: [], rows: [] };
    byColumns.set(key, batch);
    batch.ids.push(l.id);
    batch.rows.push(row);
  }
  batches.push(...byColumns.values());
  await state.markDeadLettersRetried(db, passedEmpty);
  const superseded = (await settleSuperseded(db, it, batches, newestFailing(it, validate, stillFailing))) + (await settleStillFailing(db, it, validate, stillFailing));
  const ready = batches.filter((b) => b.rows.length);
  if (!isPostgresSink(it.sink)) {
    const letterOf = new Map(letters.map((l) => [l.id, { record: l.record, cursor: JSON.parse(l.cursor ?? 'null') as SinkRetryBatch['letters'][number]['cursor'] }]));
    const sent = await retryThroughSink(db, it.sink as HttpSinkConfig | CustomSinkConfig, it.id, env, stateDbUrlOf(it, env), ready.map((b) => ({ ...b, letters: b.ids.map((id) => letterOf.get(id) ?? { record: 'null', cursor: null }) })));
    stillFailing.push(...sent.stillFailing);
    await state.updateDeadLetterReasons(db, keepLines(letters, stillFailing));
    return { pending: letters.length, written: sent.written, superseded, stillFailing, ...asked };
  }
  const written = await retryIntoTable(db, it, it.sink, ready, stillFailing);
  await state.updateDeadLetterReasons(db, keepLines(letters, stillFailing));
  return { pending: letters.length, written, superseded, stillFailing, ...asked };
}

/** The file line a letter's reason named (a CSV source's `line N: `). */
const LINE = /^line \d+: /;

/**
 * `failing` (in place) with each new reason led by the line its letter's reason named, where it lost it: a retry's
 * own wording (a value the config or the target still refuses) dropped where to fix it (an acceptance run).
 */
function keepLines(letters: ReadonlyArray<{ id: string; reason: string }>, failing: RetryReport['stillFailing']): RetryReport['stillFailing'] {
  const reasonOf = new Map(letters.map((l) => [l.id, l.reason]));
  for (const f of failing) {
    const line = LINE.exec(reasonOf.get(f.id) ?? '')?.[0];
    if (line && !LINE.test(f.reason)) f.reason = line + f.reason;
  }
  return failing;
}

/**
 * Takes out of `batches` (in place) the rows a later write of the same key made stale, and of several letters of
 * one key all but the newest (the batches would otherwise write them in batch order, not the order they were
 * made); marks the letters left with no row superseded and returns how many.
 */
async function settleSuperseded(db: pg.Client, it: Integration, batches: Batch[], failing: ReadonlyMap<string, bigint>): Promise<number> {
  const stale = await Promise.all(batches.map((b) => supersededRows(db, it.id, it.sink, b, cursorOf(it))));
  // The newest letter (highest id) of each key, over every batch and the letters that still fail: an older letter
  // of a key whose newer one still fails is not applied (it would write the record's older version).
  const newest = new Map<string, bigint>(failing);
  const keys = batches.map((b) => rowKeys(it.sink, b));
  batches.forEach((b, j) =>
    b.ids.forEach((id, i) => {
      const k = keys[j]?.[i];
      if (k === undefined || stale[j]?.has(i)) return;
      if ((newest.get(k) ?? -1n) < BigInt(id)) newest.set(k, BigInt(id));
    }),
  );
  const before = new Set(batches.flatMap((b) => b.ids));
  batches.forEach((b, j) => {
    const keep = b.ids.map((id, i) => {
      const k = keys[j]?.[i];
      return !stale[j]?.has(i) && (k === undefined || newest.get(k) === BigInt(id));
    });
    b.ids = b.ids.filter((_, i) => keep[i]);
    b.rows = b.rows.filter((_, i) => keep[i]);
  });
  // A letter whose mapping made several rows stays when one of them is still to write.
  const after = new Set(batches.flatMap((b) => b.ids));
  const settled = [...before].filter((id) => !after.has(id));
  await state.markDeadLettersSuperseded(db, settled);
  return settled.length;
}

/**
 * The newest still-failing validation letter of each key (a postgres sink's key read from the source record's fields
 * of those names, as text; an HTTP sink's in each form it may be sent in): best effort, a key the mapping renames is
 * not known. An older letter of such a key is not applied (an HTTP sink's re-send would also read, in the ledger, as a
 * delivery after the newer letter, which would settle it: the review).
 */
function newestFailing(it: Integration, validate: readonly { id: string; record: string }[], stillFailing: RetryReport['stillFailing']): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (!(isPostgresSink(it.sink) || isHttpSink(it.sink)) || !stillFailing.length) return out;
  const http = isHttpSink(it.sink);
  const key = it.sink.key;
  // The source record's field `k` is the target's key column `k` only when the mapping copies it as it is (the review:
  // a mapping `id: order_id` beside a source `id` settled another order's letter).
  const same = (k: string) => {
    const m = (it.mapping as Record<string, unknown> | undefined)?.[k];
    return it.mapping === undefined || m === k || (m !== null && typeof m === 'object' && (m as { from?: unknown }).from === k && Object.keys(m).every((x) => x === 'from' || x === 'type'));
  };
  if (!key.every(same)) return out;
  const failing = new Set(stillFailing.map((f) => f.id));
  for (const l of validate) {
    if (!failing.has(l.id)) continue;
    const record = JSON.parse(l.record) as Record<string, unknown>;
    if (!key.every((k) => k in record)) continue;
    // An HTTP sink's rows are keyed as sent (rowKeys): every form the letter's text values may have been sent in.
    const keys = http ? keyForms(key.map((c) => record[c])).map((values) => canonicalJson(values)) : [JSON.stringify(key.map((c) => text(record[c])))];
    for (const k of keys) if ((out.get(k) ?? -1n) < BigInt(l.id)) out.set(k, BigInt(l.id));
  }
  return out;
}

/** Why each letter asked for is not a pending letter of `integration`: none with that number, another's, or settled. */
async function whyNotPending(db: pg.Client, integration: string, ids: readonly string[]): Promise<NonNullable<RetryReport['notPending']>> {
  const found = new Map((await state.findDeadLetters(db, ids)).map((l) => [l.id, l]));
  return ids.map((id) => {
    const l = found.get(id);
    if (!l) return { id, why: 'no dead letter has this number' };
    if (l.integration !== integration) return { id, why: `it is a letter of ${l.integration}, not ${integration}` };
    return { id, why: `settled already (${l.superseded ? 'superseded' : 'retried'} ${l.retried_at?.slice(0, 19) ?? ''})` };
  });
}

/** A PostgreSQL source's cursor columns, as the target has them (no mapping to rename them): see supersededRows. */
function cursorOf(it: Integration): readonly string[] | undefined {
  return isPostgresSource(it.source) && !it.mapping ? it.source.cursor : undefined;
}

/** A record's value as PostgreSQL text: objects as JSON, null and missing as NULL. */
function text(v: unknown): string | null {
  return v === null || v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Of the validation letters that still fail, those whose key a later run has written (the record's next version,
 * which passed): superseded, taken out of `stillFailing` (in place). Known only where the record holds the target's
 * key as it is, without a mapping: a postgres sink's row (by the cursor), an HTTP sink's delivery ledger (delivered
 * since the letter's last refusal); elsewhere they stay failing, for the operator to settle.
 */
async function settleStillFailing(db: pg.Client, it: Integration, validate: readonly Letter[], stillFailing: RetryReport['stillFailing']): Promise<number> {
  if (it.mapping || !stillFailing.length) return 0;
  const failing = new Set(stillFailing.map((f) => f.id));
  const letters = validate.filter((l) => failing.has(l.id));
  const stale = isPostgresSink(it.sink) ? await rowsWrittenSince(db, it, it.sink, letters) : isHttpSink(it.sink) ? await deliveredSinceLetters(db, it, it.sink, letters) : [];
  if (!stale.length) return 0;
  await state.markDeadLettersSuperseded(db, stale);
  const gone = new Set(stale);
  stillFailing.splice(0, stillFailing.length, ...stillFailing.filter((f) => !gone.has(f.id)));
  return stale.length;
}

type Letter = Pick<state.DeadLetterRow, 'id' | 'record' | 'created_at' | 'last_seen_at'>;

/**
 * The letters an HTTP sink's ledger shows a delivery of their key since their last refusal. A letter holds its record
 * as text, the ledger its key as sent (an id 292, not "292"; a timestamp in RFC 3339): each of the forms a value may
 * have been sent in is asked for.
 */
async function deliveredSinceLetters(db: pg.Client, it: Integration, sink: HttpSinkConfig, letters: readonly Letter[]): Promise<string[]> {
  const items = letters.flatMap((l) => {
    const record = JSON.parse(l.record) as Record<string, unknown>;
    // A record without its key (the letter may be for that) matches no delivery: [null] is no record's key.
    if (!sink.key.every((k) => record[k] !== undefined && record[k] !== null)) return [];
    const since = l.last_seen_at ?? l.created_at;
    return keyForms(sink.key.map((k) => record[k])).map((values) => ({ id: l.id, recordKey: canonicalJson(values), since }));
  });
  return [...(await state.deliveredSince(db, it.id, items))];
}

/** Every combination of the forms the key's values may have been sent in (a key of one or two fields: a few). */
function keyForms(values: readonly unknown[]): unknown[][] {
  return values.reduce<unknown[][]>((combos, v) => combos.flatMap((c) => (typeof v === 'string' ? sentForms(v) : [v ?? null]).map((f) => [...c, f])), [[]]);
}

/** The letters whose key a later run wrote to the target table (supersededRows, by the cursor where there is one). */
async function rowsWrittenSince(db: pg.Client, it: Integration, sink: PostgresSinkConfig, letters: readonly Letter[]): Promise<string[]> {
  const records = letters.map((l) => JSON.parse(l.record) as Record<string, unknown>);
  const names = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const b = { columns: names.map((name) => ({ name, type: 'text', notNull: false })), ids: letters.map((l) => l.id), rows: records.map((r) => names.map((n) => text(r[n]))) };
  // Best effort: a key the rules refused may not even cast to the key's type (an id "abc" for a bigint key); then none is
  // settled here, and the letters stay failing as before.
  // (Its statements run outside a transaction, so a refused cast leaves the session usable.)
  const found = await supersededRows(db, it.id, sink, b, cursorOf(it)).catch(() => new Set<number>());
  return [...found].map((i) => b.ids[i] as string);
}

/** A target row the table refused, as text by column (how it was kept). */
function textRow(record: Record<string, unknown>): { columns: ColumnSpec[]; row: (string | null)[] } {
  const names = Object.keys(record);
  return { columns: names.map((name) => ({ name, type: 'text', notNull: false })), row: names.map((c) => (record[c] ?? null) as string | null) };
}

/** Writes the batches' rows; those the target still refuses go to `stillFailing`. Returns the rows written. */
async function retryIntoTable(db: pg.Client, it: Integration, sinkConfig: PostgresSinkConfig, batches: readonly Batch[], stillFailing: RetryReport['stillFailing']): Promise<number> {
  let written = 0;
  for (const b of batches) {
    // No integration id: the rows are typed as text here, which is no change of the source's columns.
    const sink = new PostgresSink(db, { ...sinkConfig, create: false });
    await sink.prepare(
      b.columns.map((c) => ({ name: c.name, type: 'text', notNull: false })),
      { allowDirect: false },
    );
    // Rows the target still refuses keep their letter; every row may (the target not fixed yet), so no limit.
    const { result, bad } = await writeIsolatingBadRows(
      sink,
      Buffer.from(encodeCopyRows(b.rows)),
      b.rows.length,
      async (tx, _res, refused) => {
        const out = new Set(refused.map((r) => r.index));
        await state.markDeadLettersRetried(tx, b.ids.filter((_, i) => !out.has(i)));
      },
      `dead-letters --retry of ${it.id}`,
      b.rows.length,
      undefined,
      // Letters hold text: a value the target's type refuses (class 22) keeps its letter too, not the whole retry.
      isRefusedRow,
    );
    stillFailing.push(...bad.map((r) => ({ id: b.ids[r.index] as string, reason: describeRefusal(r.error) })));
    written += result.written;
  }
  return written;
}

/**
 * The source columns the letters' records are read with. Expressions and mapping modules see typed
 * values (a boolean column is true/false, not "t"/"f"), so they need the source's column types, as
 * in the run; the other mappings read every field as text and need no source.
 */
async function sourceColumnsFor(it: Integration, records: readonly SourceRecord[], env: NodeJS.ProcessEnv): Promise<ColumnSpec[]> {
  if (RecordPipeline.readsTypedValues(it.mapping)) {
    // An API's columns are in the config (what its source's prepare returns): no request, so no source credential is
    // needed to retry letters (an acceptance run: an operator would have needed every customer's source token).
    if (isHttpSource(it.source) && !it.source.parent) return declaredColumns(it.source);
    const source = await createSource(it.source, it.id, env);
    try {
      return (await source.prepare({})).columns;
    } finally {
      await source.close();
    }
  }
  return [...new Set(records.flatMap((r) => Object.keys(r)))].map((name) => ({ name, type: 'text', notNull: false }));
}

