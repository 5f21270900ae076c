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
 * an integer key whose page fills most of its range reads the range (`WHERE t."id" BETWEEN 1 AND 9`, see
 * denseRange), and a composite key joins its columns' arrays as `JOIN unnest(…) AS tm_keys(k0, k1) ON …`.
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
  rows: Map<RowKey, number>;
  /** Line bounds: [start, end) of each row, without its newline */
  starts: number[];
  ends: number[];
}

/**
 * A row's key fields as they stand in COPY text (escaped, joined by a tab; latin1, so equal strings are equal
 * bytes), or, for one field of plain decimal digits (no leading zero, at most 15 digits), its number: numbers
 * hash and compare without a string per row, and a re-sync's keys are mostly integers.
 */
type RowKey = string | number;

function keyOf(data: Buffer, s: number, e: number): RowKey {
  const n = e - s;
  if (n > 0 && n <= 15) {
    let i = s;
    const negative = data[i] === 0x2d;
    if (negative) i++;
    let v = 0;
    for (; i < e; i++) {
      const d = (data[i] as number) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    const first = data[negative ? s + 1 : s];
    if (i === e && e > (negative ? s + 1 : s) && (first !== 0x30 || e - s === 1)) return negative ? -v : v;
  }
  return data.toString('latin1', s, e);
}

/**
 * Calls `each(line, start, end, key)` for each row of COPY text; `key` is undefined when the row has fewer
 * fields than the key needs.
 */
function forEachKeyed(data: Buffer, keyIndexes: readonly number[], each: (line: number, start: number, end: number, key: RowKey | undefined) => void): void {
  const single = keyIndexes.length === 1 ? (keyIndexes[0] as number) : -1;
  const last = Math.max(...keyIndexes);
  let line = 0;
  for (let start = 0; start < data.length; line++) {
    let end = data.indexOf(0x0a, start);
    if (end === -1) end = data.length;
    let key: RowKey | undefined;
    const parts: string[] | undefined = single < 0 ? [] : undefined;
    for (let f = 0, s = start; f <= last; f++) {
      let e: number;
      if (f === 0 && single === 0) {
        // A key in the first column: its tab found by hand (a native call costs more than a short scan).
        for (e = s; e < end && data[e] !== 0x09; ) e++;
      } else {
        e = data.indexOf(0x09, s);
        if (e === -1 || e > end) e = end;
      }
      if (f === single) key = keyOf(data, s, e);
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
    if (key === undefined || key === '\\N' || (typeof key === 'string' && keyIndexes.length > 1 && key.split('\t').includes('\\N'))) return;
    // A key that repeats keeps all its rows: the upsert keeps the last, which may differ from the target when an earlier one does not.
    const seen = out.rows.get(key);
    out.rows.set(key, seen === undefined ? line : -1);
  });
  return out;
}

/** One key field (COPY text, read as latin1) as an array element. */
function element(raw: RowKey): string {
  if (typeof raw === 'number') return String(raw);
  const text = /[^\x20-\x7e]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
  const value = text.includes('\\') ? (decodeCopyValue(text) as string) : text;
  return value.includes('"') || value.includes('\\') ? `"${value.replace(/["\\]/g, '\\$&')}"` : `"${value}"`;
}

/** An SQL string literal; pg.escapeLiteral walks it a character at a time, which shows on 5,000 keys a page. */
function literal(text: string): string {
  return text.includes('\\') ? pg.escapeLiteral(text) : `'${text.replaceAll("'", "''")}'`;
}

/** The statement reading the target's rows with the page's keys (see the header); undefined when no row has a usable key. */
export function targetRowsSql(keys: PageKeys, target: string, columns: readonly string[], key: readonly KeyColumn[]): string | undefined {
  if (!keys.rows.size) return undefined;
  const cols = columns.map((c) => `t.${quoteIdent(c)}`).join(', ');
  const range = denseRange(keys, key);
  if (range) return `COPY (SELECT ${cols} FROM ${target} t WHERE t.${quoteIdent((key[0] as KeyColumn).name)} BETWEEN ${range[0]} AND ${range[1]}) TO STDOUT`;
  const arrays = keyArrays(keys, key);
  const from =
    key.length === 1
      ? `${target} t WHERE t.${quoteIdent((key[0] as KeyColumn).name)} = ANY(${arrays[0]})`
      : `${target} t JOIN unnest(${arrays.join(', ')}) AS tm_keys(${key.map((_, i) => `k${i}`).join(', ')}) ON ${key.map((k, i) => `t.${quoteIdent(k.name)} = tm_keys.k${i}`).join(' AND ')}`;
  return `COPY (SELECT ${cols} FROM ${from}) TO STDOUT`;
}

/** The page's keys as one typed array literal per key column (`'{"1","7"}'::bigint[]`), in the same order. */
export function keyArrays(keys: PageKeys, key: readonly KeyColumn[]): string[] {
  const elems: string[][] = key.map(() => []);
  for (const k of keys.rows.keys()) {
    if (key.length === 1 || typeof k === 'number') (elems[0] as string[]).push(element(k));
    else k.split('\t').forEach((f, i) => (elems[i] as string[]).push(element(f)));
  }
  return key.map((k, i) => `${literal(`{${(elems[i] as string[]).join(',')}}`)}::${k.type}[]`);
}

const INTEGER_TYPE = /^(smallint|integer|bigint)$/;

/**
 * An integer key's page whose keys fill most of their range (a table read in an order that follows its key,
 * or near it): the range is read instead of the list, an index range scan with no array of 5,000 values to
 * parse, sort and probe. At most half as many other rows come along, and are ignored: a row is dropped
 * only for a target row with its own key.
 */
function denseRange(keys: PageKeys, key: readonly KeyColumn[]): [number, number] | undefined {
  if (key.length !== 1 || !INTEGER_TYPE.test((key[0] as KeyColumn).type)) return undefined;
  let [lo, hi] = [Infinity, -Infinity];
  for (const k of keys.rows.keys()) {
    if (typeof k !== 'number') return undefined;
    if (k < lo) lo = k;
    if (k > hi) hi = k;
  }
  return hi - lo + 1 <= keys.rows.size * 1.5 ? [lo, hi] : undefined;
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
