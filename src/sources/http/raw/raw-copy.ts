import type { HttpColumn } from '../../../config/http-source-schema';
import { copyCellOf, copyEscape, type Cell } from '../records';
import type { MemberIndex } from './json-scan';
import { plainOf, spanOf, type RawSpan } from './raw-records';
import { checkNotRelative, isTimeType } from '../relative-time';

/**
 * Records read as bytes (raw-records.ts) → COPY text, byte for byte what copyRowMaker + copyText write
 * for the same records, without building them: a top-level field's JSON token is copied when its text is
 * already the value's (a string with no escape, a short integer, true / false, an object or array into a
 * jsonb column, which reads JSON text of any spelling); anything else (escapes, fractions, nested paths,
 * time formats, json and text columns given objects) goes through JSON.parse and the same cells as before.
 */

/** `time`: text, but a string starting with a letter is checked not to be a relative word (relative-time.ts). */
type Kind = 'jsonb' | 'json' | 'text' | 'time';

interface RawColumn {
  /** the column's name, for messages */
  name: string;
  /** the record's top-level key */
  key: string;
  keyBytes: Buffer;
  kind: Kind;
  /** every column reading this key */
  cols: number[];
}

const NULL = Buffer.from('\\N');

/** Grows as it is written; `take` hands over what was written. */
class Out {
  buf: Buffer;
  n = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 256));
  }
  room(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + extra));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  byte(c: number): void {
    this.room(1);
    this.buf[this.n++] = c;
  }
  bytes(src: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    if (end - start > 64) {
      this.n += (src as Buffer).copy(this.buf, this.n, start, end);
      return;
    }
    // Short values: a loop beats the native call.
    const b = this.buf;
    let n = this.n;
    for (let i = start; i < end; i++) b[n++] = src[i] as number;
    this.n = n;
  }
  text(s: string): void {
    this.room(s.length * 3);
    this.n += this.buf.write(s, this.n);
  }
  /**
   * A JSON string's content (between its quotes, valid) as the COPY text copyEscape writes for its value:
   * `\\ \n \r \t` are the same two bytes in both, `\" \/ \b \f` their character, `\u` escapes the
   * character's UTF-8 (a lone surrogate U+FFFD, as Buffer.from writes it).
   */
  stringForCopy(src: Buffer, start: number, end: number): void {
    let from = start;
    for (let i = start; i < end; i++) {
      if (src[i] !== 0x5c) continue;
      this.bytes(src, from, i);
      const e = src[i + 1] as number;
      if (e === 0x5c || e === 0x6e || e === 0x72 || e === 0x74) this.bytes(src, i, i + 2);
      else if (e === 0x22 || e === 0x2f) this.byte(e);
      else if (e === 0x62) this.byte(0x08);
      else if (e === 0x66) this.byte(0x0c);
      else {
        // \uXXXX, a surrogate pair as one character
        let s = String.fromCharCode(parseInt(src.toString('latin1', i + 2, i + 6), 16));
        const hi = s.charCodeAt(0);
        if (hi >= 0xd800 && hi <= 0xdbff && src[i + 6] === 0x5c && src[i + 7] === 0x75) {
          const lo = parseInt(src.toString('latin1', i + 8, i + 12), 16);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            s += String.fromCharCode(lo);
            i += 6;
          }
        }
        this.text(copyEscape(s));
        i += 4;
      }
      i++;
      from = i + 1;
    }
    this.bytes(src, from, end);
  }
  /** JSON text (valid, so no raw control character but whitespace) escaped for COPY: `\`, newline, CR, tab. */
  jsonForCopy(src: Buffer, start: number, end: number): void {
    this.room((end - start) * 2);
    const b = this.buf;
    let n = this.n;
    for (let i = start; i < end; i++) {
      const c = src[i] as number;
      if (c === 0x5c) {
        b[n++] = 0x5c;
        b[n++] = 0x5c;
      } else if (c === 0x0a || c === 0x0d || c === 0x09) {
        b[n++] = 0x5c;
        b[n++] = c === 0x0a ? 0x6e : c === 0x0d ? 0x72 : 0x74;
      } else b[n++] = c;
    }
    this.n = n;
  }
}

export type RawCopy = (records: readonly unknown[]) => Buffer | undefined;

/** The converter for `columns`; it returns undefined when any record did not come as bytes. */
export function rawCopyMaker(columns: readonly HttpColumn[]): RawCopy {
  const raw: (RawColumn | undefined)[] = columns.map((c) => {
    // A key Object.prototype has reads differently from a parsed object when the record lacks it.
    if (c.from === '.' || c.from.includes('.') || 'format' in c || c.from in Object.prototype) return undefined;
    const t = c.type.trim().toLowerCase();
    return { name: c.name, key: c.from, keyBytes: Buffer.from(c.from), kind: t === 'jsonb' ? 'jsonb' : t === 'json' ? 'json' : isTimeType(t) ? 'time' : 'text', cols: [] as number[] };
  });
  const cells: Cell[] = columns.map(copyCellOf);
  for (const r of raw) if (r) r.cols = raw.flatMap((o, i) => (o?.key === r.key ? [i] : []));
  const ncols = columns.length;
  const vs = new Int32Array(ncols);
  const ve = new Int32Array(ncols);
  const flags = new Uint8Array(ncols); // 1: a string escape, 2: an inexact number, 4: a newline, return or tab, in the value

  return (records) => {
    let size = 0;
    for (const r of records) {
      const span = spanOf(r);
      if (!span) return undefined;
      size += span.end - span.start + ncols;
    }
    const out = new Out(Math.ceil(size * 1.1));
    for (const r of records) {
      // The members as the scan that checked the record found them (the last of a name wins).
      const { buf, index, at, count } = spanOf(r) as RawSpan;
      const d = index.data;
      vs.fill(-1);
      for (let o = at; o < at + 5 * count; o += 5) {
        const cols = matchKey(buf, index, o, raw);
        if (!cols) continue;
        for (const i of cols) {
          vs[i] = d[o + 2] as number;
          ve[i] = d[o + 3] as number;
          flags[i] = d[o + 4] as number;
        }
      }
      for (let i = 0; i < ncols; i++) {
        if (i > 0) out.byte(0x09);
        const col = raw[i];
        if (!col) {
          out.text(cells[i]?.(plainOf(r)) as string);
          continue;
        }
        const a = vs[i] as number;
        if (a < 0) {
          out.bytes(NULL, 0, 2);
          continue;
        }
        if (col.kind === 'time') checkTimeToken(buf, a, ve[i] as number, col);
        value(out, col.kind === 'time' ? 'text' : col.kind, buf, a, ve[i] as number, flags[i] as number);
      }
      out.byte(0x0a);
    }
    return out.buf.subarray(0, out.n);
  };
}

/**
 * A time column's JSON token: a string holding an "o" or a "y" (each relative word does; an ISO time neither) or an
 * escape is read to check it is not a relative word.
 */
function checkTimeToken(buf: Buffer, a: number, e: number, col: RawColumn): void {
  if (buf[a] !== 0x22) return;
  let suspect = false;
  for (let i = a + 1; i < e - 1 && !suspect; i++) {
    const c = buf[i] as number;
    suspect = c === 0x6f || c === 0x4f || c === 0x79 || c === 0x59 || c === 0x5c; // o, O, y, Y, a backslash
  }
  if (suspect) checkNotRelative(JSON.parse(buf.toString('utf8', a, e)) as string, { name: col.name, from: col.key });
}

/** The columns reading the key of the member at `o` in the index. */
function matchKey(buf: Buffer, index: MemberIndex, o: number, raw: readonly (RawColumn | undefined)[]): number[] | undefined {
  for (const col of raw) if (col && index.keyIs(buf, o, col.keyBytes, col.key)) return col.cols;
  return undefined;
}

/** One field's JSON token `a..e` as COPY text for a column of `kind`. */
function value(out: Out, kind: Exclude<Kind, 'time'>, buf: Buffer, a: number, e: number, flags: number): void {
  const c = buf[a];
  if (c === 0x6e) return out.bytes(NULL, 0, 2); // null
  if (c === 0x74 || c === 0x66) return out.bytes(buf, a, e); // true, false: String() and JSON.stringify agree
  const exact = (flags & 2) === 0;
  const plain = (flags & 1) === 0;
  // JSON text with no backslash and no newline, return or tab is its own COPY text.
  const verbatim = (flags & 5) === 0;
  if (c === 0x22) {
    if (kind === 'jsonb') return verbatim ? out.bytes(buf, a, e) : out.jsonForCopy(buf, a, e);
    if (plain) return out.bytes(buf, kind === 'json' ? a : a + 1, kind === 'json' ? e : e - 1);
    if (kind === 'text') return out.stringForCopy(buf, a + 1, e - 1);
  } else if (c === 0x7b || c === 0x5b) {
    if (kind === 'jsonb' && exact) return verbatim ? out.bytes(buf, a, e) : out.jsonForCopy(buf, a, e);
  } else if (exact) {
    return out.bytes(buf, a, e); // a short integer: String(n) and JSON.stringify(n) spell it so
  }
  const v = JSON.parse(buf.toString('utf8', a, e)) as unknown;
  if (kind === 'text') return out.text(copyEscape(typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)));
  const json = JSON.stringify(v);
  out.text(json.includes('\\') ? json.replaceAll('\\', '\\\\') : json);
}
