import type pg from 'pg';
import { quoteIdent, quoteTable, splitTableName } from '../config/identifiers';
import type { Integration, PostgresSinkConfig, PostgresSourceConfig } from '../config/schema';
import { copyOut } from '../pg/copy-out';
import { PostgresSink } from '../sinks/postgres-sink';
import { countCopyLines } from '../pg/copy-text';
import { requireTable } from '../sources/postgres/describe-table';
import { rangePredicate, type Bound, type KeyColumn } from './range-sql';

/** Re-syncs whole key ranges: all source rows of each range in one COPY; the upsert rewrites only rows that differ. Returns rows written per range. */
export async function repairRanges(
  it: Integration & { source: PostgresSourceConfig; sink: PostgresSinkConfig },
  src: pg.Client,
  dst: pg.Client,
  columns: string[],
  key: KeyColumn[],
  ranges: Array<{ lo: Bound; hi: Bound }>,
  check?: () => void,
): Promise<number[]> {
  const sink = new PostgresSink(dst, { ...it.sink, create: false });
  const info = await requireTable(src, splitTableName(it.source.table), 'source');
  await sink.prepare(info.columns.filter((c) => columns.includes(c.name)), { allowDirect: false });
  const written: number[] = [];
  for (const d of ranges) {
    const sql = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteTable(splitTableName(it.source.table))} WHERE ${rangePredicate(key, d.lo, d.hi)}`;
    const data = await copyOut(src, `COPY (${sql}) TO STDOUT`);
    written.push((await sink.writeCopy(data, countCopyLines(data), async () => undefined)).written);
    check?.();
  }
  return written;
}
