import pg from 'pg';
import { quoteIdent } from '../config/identifiers';
import { decodeCopyValue } from '../pg/copy-text';

/**
 * A re-sync's page compared with the target before anything is written: the target's rows with the
 * page's keys come back as COPY text (on the sink's own session) and page rows equal to them byte for byte
 * are dropped, so an unchanged page costs a read of the target instead of a COPY into staging that parses
 * every value, a join and an INSERT of nothing (issue 16). For key [id] of type bigint:
 *
 *   COPY (SELECT t."id", t."status", t."doc" FROM "public"."orders" t WHERE t."id" = ANY('{"1","7","9"}'::bigint[])) TO STDOUT
 *
 * and for a composite key the keys join as `JOIN unnest(…) AS tm_keys(k0, k1) ON …`.
 *
 * Why equal text means an unchanged row: the session that prints the target's value is the one that would
 * parse the page's text into it, and every value's output parses back to the same value there (the sessions
 * print canonically: connect.ts sets extra_float_digits = 3 among others). Rows whose text differs — a changed
 * value, a new key, or the same value printed differently (another type, a CSV's own format) — go on to the
 * upsert, which still compares values: a different text can cost a write, never skip one.
 */
export interface KeyColumn {
  /** Position among the page's columns */
  index: number;
  name: string;
  /** The target column's SQL type (format_type) */
  type: string;
}

/** A page's rows by key: the row's line number, or -1 for a key that repeats within the page. */
export interface PageKeys {
  rows: Map<string, number>;
  /** Line bounds: [start, end) of each row, without its newline */
  starts: number[];
  ends: number[];
}

/**
 * Calls `each(line, start, end, key)` for each row of COPY text; `key` is the row's key fields as they stand
 * (escaped, joined by a tab; latin1, so equal strings are equal bytes), undefined when a field is missing.
 */
function forEachKeyed(data: Buffer, keyIndexes: readonly number[], each: (line: number, start: number, end: number, key: string | undefined) => void): void {
  const single = keyIndexes.length === 1 ? (keyIndexes[0] as number) : -1;
  const last = Math.max(...keyIndexes);
  let line = 0;
  for (let start = 0; start < data.length; line++) {
    let end = data.indexOf(0x0a, start);
    if (end === -1) end = data.length;
    let key: string | undefined;
    const parts: string[] | undefined = single < 0 ? [] : undefined;
    for (let f = 0, s = start; f <= last; f++) {
      let e = data.indexOf(0x09, s);
      if (e === -1 || e > end) e = end;
      if (f === single) key = data.toString('latin1', s, e);
      else if (parts && keyIndexes.includes(f)) parts[keyIndexes.indexOf(f)] = data.toString('latin1', s, e);
      if (e === end && f < last) break; // the row has fewer fields than the key needs
      s = e + 1;
    }
    if (parts && parts.filter((p) => p !== undefined).length === keyIndexes.length) key = parts.join('\t');
    each(line, start, end, key);
    start = end + 1;
  }
}

/** The page's rows by key. A row whose key is NULL (\N) or missing matches nothing and is left out (it goes to the upsert). */
export function pageKeys(data: Buffer, keyIndexes: readonly number[]): PageKeys {
  const out: PageKeys = { rows: new Map(), starts: [], ends: [] };
  forEachKeyed(data, keyIndexes, (line, start, end, key) => {
    out.starts.push(start);
    out.ends.push(end);
    if (key === undefined || key === '\\N' || (keyIndexes.length > 1 && key.split('\t').includes('\\N'))) return;
    // A key that repeats keeps all its rows: the upsert keeps the last, which may differ from the target when an earlier one does not.
    out.rows.set(key, out.rows.has(key) ? -1 : line);
  });
  return out;
}

/** One key field (COPY text, read as latin1) as a quoted array element. */
function element(raw: string): string {
  const text = /[^\x20-\x7e]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
  const value = text.includes('\\') ? (decodeCopyValue(text) as string) : text;
  return value.includes('"') || value.includes('\\') ? `"${value.replace(/["\\]/g, '\\$&')}"` : `"${value}"`;
}

/** The statement reading the target's rows with the page's keys (see the header); undefined when no row has a usable key. */
export function targetRowsSql(keys: PageKeys, target: string, columns: readonly string[], key: readonly KeyColumn[]): string | undefined {
  if (!keys.rows.size) return undefined;
  const elems: string[][] = key.map(() => []);
  for (const k of keys.rows.keys()) {
    if (key.length === 1) (elems[0] as string[]).push(element(k));
    else k.split('\t').forEach((f, i) => (elems[i] as string[]).push(element(f)));
  }
  const arrays = key.map((k, i) => `${pg.escapeLiteral(`{${(elems[i] as string[]).join(',')}}`)}::${k.type}[]`);
  const cols = columns.map((c) => `t.${quoteIdent(c)}`).join(', ');
  const from =
    key.length === 1
      ? `${target} t WHERE t.${quoteIdent((key[0] as KeyColumn).name)} = ANY(${arrays[0]})`
      : `${target} t JOIN unnest(${arrays.join(', ')}) AS tm_keys(${key.map((_, i) => `k${i}`).join(', ')}) ON ${key.map((k, i) => `t.${quoteIdent(k.name)} = tm_keys.k${i}`).join(' AND ')}`;
  return `COPY (SELECT ${cols} FROM ${from}) TO STDOUT`;
}

/** The page without its rows equal to the target's (`there`: the output of targetRowsSql's statement). */
export function dropUnchangedRows(data: Buffer, keys: PageKeys, there: Buffer, keyIndexes: readonly number[]): { data: Buffer; count: number } {
  const drop = new Uint8Array(keys.starts.length);
  forEachKeyed(there, keyIndexes, (_, start, end, key) => {
    const line = key === undefined ? undefined : keys.rows.get(key);
    if (line === undefined || line < 0) return;
    if (data.compare(there, start, end, keys.starts[line], keys.ends[line]) === 0) drop[line] = 1;
  });
  // Runs of kept rows go out as slices of the page (with their newlines).
  const kept: Buffer[] = [];
  let count = 0;
  for (let i = 0; i < drop.length; ) {
    if (drop[i]) {
      i++;
      continue;
    }
    const from = keys.starts[i] as number;
    for (; i < drop.length && !drop[i]; i++) count++;
    kept.push(data.subarray(from, Math.min(data.length, (keys.ends[i - 1] as number) + 1)));
  }
  const out = kept.length === 1 ? (kept[0] as Buffer) : Buffer.concat(kept);
  // The page's last row may lack its newline: COPY needs none at the end, but one before a following row.
  return { data: out.length && out[out.length - 1] !== 0x0a ? Buffer.concat([out, Buffer.from('\n')]) : out, count };
}
