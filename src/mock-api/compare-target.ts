import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { quoteTable, splitTableName } from '../config/identifiers';
import type { Order } from './order-factory';

export interface Comparison {
  expected: number;
  rows: number;
  /** records of the API missing from the target */
  missing: number;
  /** records present in both whose content differs */
  differing: number;
  exact: boolean;
}

/**
 * Compares a target table (columns as in ORDER_COLUMN_TYPES) with the mock API's snapshot, record by
 * record and field by field: how the demo shows that the copy is exact.
 */
export async function compareWithSnapshot(db: pg.Client, table: string, snapshot: readonly Order[]): Promise<Comparison> {
  const ts = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const res = await db.query<Record<string, string | null>>(
    `SELECT id::text, number, status, currency, total::text, customer::text, items::text, note, ${ts('created_at')} AS created_at, ${ts('updated_at')} AS updated_at, version::text
       FROM ${quoteTable(splitTableName(table))}`,
  );
  const got = new Map(res.rows.map((r) => [Number(r.id), r]));
  let missing = 0;
  let differing = 0;
  for (const o of snapshot) {
    const r = got.get(o.id);
    if (!r) {
      missing++;
      continue;
    }
    const copy = { ...r, id: Number(r.id), version: Number(r.version), customer: JSON.parse(r.customer ?? 'null') as unknown, items: JSON.parse(r.items ?? 'null') as unknown };
    if (!isDeepStrictEqual(sorted(copy), sorted(o))) differing++;
  }
  const exact = missing === 0 && differing === 0 && res.rows.length === snapshot.length;
  return { expected: snapshot.length, rows: res.rows.length, missing, differing, exact };
}

/** jsonb keeps keys in its own order: compare with keys sorted. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sorted(x)]));
  return v;
}
