import type pg from 'pg';
import { quoteIdent, quoteTable, splitTableName } from '../config/identifiers';
import type { Integration, PostgresSinkConfig, PostgresSourceConfig } from '../config/schema';
import { copyOut } from '../pg/copy-out';
import { PostgresSink } from '../sinks/postgres-sink';
import { encodeCopyValue } from '../pg/copy-text';
import { prefixLines } from '../instances/instance-column';
import { requireTable } from '../sources/postgres/describe-table';
import { rangePredicate, type Bound, type KeyColumn, type TargetScope } from './range-sql';

/**
 * Re-syncs whole key ranges: all source rows of each range in one COPY; the upsert rewrites only rows that differ.
 * With a `scope` (an instance in a shared target) each row gets the instance id in front, as a run writes it,
 * and the upsert's key (instance column first) keeps it to that instance's rows. Returns rows written per range.
 */
export async function repairRanges(
  it: Integration & { source: PostgresSourceConfig; sink: PostgresSinkConfig },
  src: pg.Client,
  dst: pg.Client,
  columns: string[],
  key: KeyColumn[],
  ranges: Array<{ lo: Bound; hi: Bound }>,
  check?: () => void,
  scope?: TargetScope,
): Promise<number[]> {
  const sink = new PostgresSink(dst, { ...it.sink, create: false });
  const info = await requireTable(src, splitTableName(it.source.table), 'source');
  const own = info.columns.filter((c) => columns.includes(c.name));
  await sink.prepare(scope ? [{ name: scope.column, type: 'text', notNull: true }, ...own] : own, { allowDirect: false });
  const prefix = scope ? Buffer.from(`${encodeCopyValue(scope.value)}\t`) : undefined;
  const written: number[] = [];
  for (const d of ranges) {
    const sql = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteTable(splitTableName(it.source.table))} WHERE ${rangePredicate(key, d.lo, d.hi)}`;
    const raw = await copyOut(src, `COPY (${sql}) TO STDOUT`);
    const data = prefix ? prefixLines(raw.data, prefix) : raw.data;
    written.push((await sink.writeCopy(data, raw.rows, async () => undefined)).written);
    check?.();
  }
  return written;
}
