import type pg from 'pg';
import { quoteIdent, quoteTable, splitTableName } from '../config/identifiers';
import type { Integration, PostgresSinkConfig, PostgresSourceConfig } from '../config/schema';
import { copyOut } from '../pg/copy-out';
import { PostgresSink } from '../sinks/postgres-sink';
import { encodeCopyValue } from '../pg/copy-text';
import { prefixLines } from '../instances/instance-column';
import { requireTable } from '../sources/postgres/describe-table';
import { rangePredicate, type Bound, type KeyColumn, type TargetScope } from './range-sql';
import { VerifyError } from './verify-errors';

/** A range to repair, and how many rows its source has (one with none has nothing to write: --delete is what empties it). */
export interface RepairRange {
  lo: Bound;
  hi: Bound;
  sourceRows: number;
}

/** What the repair did to one range: rows written (inserted or changed), or why the target refused them. */
export type RepairOutcome = { written: number } | { error: string };

/**
 * Re-syncs whole key ranges: all source rows of each range in one COPY, in cursor order (a key repeated in the
 * source keeps its newest row, as a run does); the upsert rewrites only rows that differ, and counts only those
 * (never whole replaced pages). With a `scope` (an instance in a shared target) each row gets the instance id in
 * front, as a run writes it, and the upsert's key (instance column first) keeps it to that instance's rows.
 * A range the target refuses (a constraint, a value out of range) is reported and the others go on.
 */
export async function repairRanges(
  it: Integration & { source: PostgresSourceConfig; sink: PostgresSinkConfig },
  src: pg.Client,
  dst: pg.Client,
  columns: string[],
  key: KeyColumn[],
  ranges: RepairRange[],
  check?: () => void,
  scope?: TargetScope,
): Promise<RepairOutcome[]> {
  const sink = new PostgresSink(dst, { ...it.sink, create: false, replacePages: false });
  const info = await requireTable(src, splitTableName(it.source.table), 'source');
  // In the order the SELECT below reads them: the COPY's columns are the sink's, by position.
  const own = columns.map((name) => {
    const c = info.columns.find((col) => col.name === name);
    if (!c) throw new VerifyError(`source.columns: "${name}" is not a column of the source ${it.source.table}`);
    return c;
  });
  await sink.prepare(scope ? [{ name: scope.column, type: 'text', notNull: true }, ...own] : own, { allowDirect: false });
  const prefix = scope ? Buffer.from(`${encodeCopyValue(scope.value)}\t`) : undefined;
  const order = it.source.cursor.map(quoteIdent).join(', ');
  const done: RepairOutcome[] = [];
  for (const d of ranges) {
    if (d.sourceRows === 0) {
      done.push({ written: 0 });
      continue;
    }
    const sql = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteTable(splitTableName(it.source.table))} WHERE ${rangePredicate(key, d.lo, d.hi)} ORDER BY ${order}`;
    const raw = await copyOut(src, `COPY (${sql}) TO STDOUT`);
    const data = prefix ? prefixLines(raw.data, prefix) : raw.data;
    try {
      done.push({ written: (await sink.writeCopy(data, raw.rows, async () => undefined)).written });
    } catch (err) {
      // The server's refusal of the rows (it rolled back): this range stays as it was; a lost connection ends the repair.
      if (typeof (err as { code?: unknown }).code !== 'string') throw err;
      done.push({ error: err instanceof Error ? err.message : String(err) });
    }
    check?.();
  }
  return done;
}
