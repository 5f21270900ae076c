import type pg from 'pg';
import type { QualifiedName } from '../../config/identifiers';
import type { KeysetCursor } from '../../cursor/cursor';
import { keysetPageQuery, type KeysetColumn } from '../../cursor/keyset-sql';

/** Rows sampled to cut a key range into shards: enough for ~1% evenness with 64 shards. */
const SPLIT_SAMPLE_ROWS = 20_000;

export interface KeyRange {
  table: QualifiedName;
  keyset: KeysetColumn[];
  /** exclusive lower end (null: the start) */
  after: KeysetCursor;
  /** exclusive upper bound on the first cursor column (the run's high-water mark) */
  upper: string | null;
  /** pg_class.reltuples of the table */
  tableRows: number;
}

/**
 * Shard boundaries: the keyset of a sample of the rows in the range (TABLESAMPLE SYSTEM reads about
 * SPLIT_SAMPLE_ROWS rows' worth of pages, not the table), sorted, cut at equal counts. Sampled rows are
 * real rows, so each boundary is a valid cursor; a shard ends at one (inclusive), the next starts after it.
 */
export async function splitRange(client: pg.Client, r: KeyRange, parts: number): Promise<KeysetCursor[]> {
  if (parts < 2) return [];
  const pct = Math.min(100, (SPLIT_SAMPLE_ROWS * 100) / Math.max(r.tableRows, 1));
  const select = r.keyset.map((c) => c.name);
  const read = async (sample: number | undefined) => {
    const q = keysetPageQuery({ table: r.table, select, cursor: r.keyset, after: r.after, upper: r.upper, limit: SPLIT_SAMPLE_ROWS * 4, sample });
    return (await client.query<string[]>({ text: q.text, values: q.values, rowMode: 'array' })).rows;
  };
  let keys = await read(pct < 100 ? pct : undefined);
  // Too few sampled pages (a small or very uneven table): read the keys of the range instead.
  if (keys.length < parts * 10 && pct < 100) keys = await read(undefined);
  return cutAtEqualCounts(keys, parts);
}

/** Up to parts - 1 distinct boundaries from sorted keys, each closing a part of about equal count. */
export function cutAtEqualCounts(keys: string[][], parts: number): string[][] {
  const out: string[][] = [];
  for (let k = 1; k < parts; k++) {
    const row = keys[Math.floor((k * keys.length) / parts) - 1];
    if (row && (out.length === 0 || out[out.length - 1]!.join('\u0000') !== row.join('\u0000'))) out.push(row);
  }
  return out;
}
