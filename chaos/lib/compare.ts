import { sql } from './sql';

export interface Comparison {
  sourceRows: number;
  targetRows: number;
  /** row count and ordered checksum equal */
  identical: boolean;
  /** source rows missing from the target or different in it */
  lost: number;
  /** target rows the source does not have */
  duplicated: number;
  /** a few keys of each kind, for the report */
  examples: { missing: string[]; different: string[]; extra: string[] };
}

export interface TableRef {
  url: string;
  table: string;
}

/** Row count and an ordered checksum of whole rows (their text form), computed in the database. */
export async function digest(t: TableRef, key = 'id'): Promise<{ count: number; md5: string }> {
  const [r] = await sql<{ n: string; h: string | null }>(t.url, `SELECT count(*)::text AS n, md5(string_agg(t::text, '|' ORDER BY ${key})) AS h FROM ${t.table} t`);
  return { count: Number(r?.n ?? 0), md5: r?.h ?? '' };
}

/**
 * Source vs target: row count and ordered checksum first (cheap, in each database); only when they
 * differ, per-row hashes by key to count what was lost (missing or different) and what is extra.
 * Both tables must have the same columns in the same order (the sink creates them so).
 */
export async function compareTables(source: TableRef, target: TableRef, key = 'id'): Promise<Comparison> {
  const [s, t] = await Promise.all([digest(source, key), digest(target, key).catch(() => ({ count: 0, md5: '' }))]);
  const base = { sourceRows: s.count, targetRows: t.count, examples: { missing: [], different: [], extra: [] } };
  if (s.count === t.count && s.md5 === t.md5) return { ...base, identical: true, lost: 0, duplicated: 0 };
  const hashes = async (ref: TableRef) =>
    new Map((await sql<{ k: string; h: string }>(ref.url, `SELECT ${key}::text AS k, md5(t::text) AS h FROM ${ref.table} t`).catch(() => [])).map((r) => [r.k, r.h]));
  const [src, dst] = await Promise.all([hashes(source), hashes(target)]);
  const missing: string[] = [];
  const different: string[] = [];
  const extra: string[] = [];
  for (const [k, h] of src) {
    const other = dst.get(k);
    if (other === undefined) missing.push(k);
    else if (other !== h) different.push(k);
  }
  for (const k of dst.keys()) if (!src.has(k)) extra.push(k);
  return {
    ...base,
    identical: false,
    lost: missing.length + different.length,
    duplicated: extra.length,
    examples: { missing: missing.slice(0, 5), different: different.slice(0, 5), extra: extra.slice(0, 5) },
  };
}

/** One line about a comparison, for details. */
export function describeComparison(what: string, c: Comparison): string {
  if (c.identical) return `${what}: target identical to source (${c.sourceRows} rows, same ordered checksum)`;
  const ex = c.examples;
  return (
    `${what}: source ${c.sourceRows} rows, target ${c.targetRows}; lost ${c.lost}, extra ${c.duplicated}` +
    (ex.missing.length ? `; missing e.g. ${ex.missing.join(', ')}` : '') +
    (ex.different.length ? `; different e.g. ${ex.different.join(', ')}` : '') +
    (ex.extra.length ? `; extra e.g. ${ex.extra.join(', ')}` : '')
  );
}
