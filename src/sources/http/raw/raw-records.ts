import { isUtf8 } from 'node:buffer';
import { indexMembers, JsonScan, keyIs, MemberIndex, members } from './json-scan';

/** Where one record's JSON object lies in an answer's bytes, and its top-level members. */
export interface RawSpan {
  buf: Buffer;
  start: number;
  end: number;
  /** the page's member index (json-scan.ts); this record's members are `count` entries of five ints from `at` */
  index: MemberIndex;
  at: number;
  count: number;
}

const SPAN = Symbol('tidemark.rawSpan');
const PARSED = Symbol('tidemark.parsed');
const TARGET = Symbol('tidemark.target');
const FIELD = Symbol('tidemark.field');

interface Target {
  [SPAN]: RawSpan;
  [PARSED]?: object;
  /** the top-level field read last before anything needed the whole record (a style reads one field a record) */
  [FIELD]?: { key: string; value: unknown };
}

function real(t: Target): object {
  const span = t[SPAN];
  return (t[PARSED] ??= JSON.parse(span.buf.toString('utf8', span.start, span.end)) as object);
}

/**
 * One top-level field as JSON.parse would give it, without parsing the rest (a time-window style reads
 * every record's time): the last member of that name, or undefined. Object.prototype's names read the
 * parsed record (a record without such a member inherits them).
 */
function field(t: Target, k: string): unknown {
  if (t[PARSED] || k in Object.prototype) return Reflect.get(real(t), k);
  const last = t[FIELD];
  if (last?.key === k) return last.value;
  const { buf, index, at, count } = t[SPAN];
  const want = keyBytes(k);
  const d = index.data;
  let vs = -1;
  let ve = -1;
  for (let o = at; o < at + 5 * count; o += 5) {
    if (!index.keyIs(buf, o, want, k)) continue;
    vs = d[o + 2] as number;
    ve = d[o + 3] as number;
  }
  const value = vs < 0 ? undefined : (JSON.parse(buf.toString('utf8', vs, ve)) as unknown);
  // An object or array is the same one at every read, as in the parsed record: read from that (parsed once).
  if (typeof value === 'object' && value !== null) return Reflect.get(real(t), k);
  t[FIELD] = { key: k, value };
  return value;
}

/** A key's UTF-8 bytes, kept for the last few keys asked (a style asks for one or two, every record). */
const keyCache = new Map<string, Buffer>();
function keyBytes(k: string): Buffer {
  let b = keyCache.get(k);
  if (!b) {
    if (keyCache.size >= 64) keyCache.clear();
    keyCache.set(k, (b = Buffer.from(k)));
  }
  return b;
}

/**
 * A record that behaves as JSON.parse's object to anything that reads it, and is only its bytes until
 * then: a field read parses that field alone (a pagination style reads the last record's id, or every
 * record's time), anything else (keys, `in`, writes) the whole record, once. The COPY conversion reads
 * the bytes (raw-copy.ts).
 */
const handler: ProxyHandler<Target> = {
  get: (t, k) => (k === SPAN ? t[SPAN] : k === TARGET ? t : typeof k === 'string' ? field(t, k) : Reflect.get(real(t), k)),
  set: (t, k, v) => Reflect.set(real(t), k, v),
  has: (t, k) => Reflect.has(real(t), k),
  ownKeys: (t) => Reflect.ownKeys(real(t)),
  getOwnPropertyDescriptor: (t, k) => Reflect.getOwnPropertyDescriptor(real(t), k),
  defineProperty: (t, k, d) => Reflect.defineProperty(real(t), k, d),
  deleteProperty: (t, k) => Reflect.deleteProperty(real(t), k),
};

/** The bytes of a record made by rawRecords, or undefined for any other value. */
export function spanOf(record: unknown): RawSpan | undefined {
  return typeof record === 'object' && record !== null ? ((record as Record<symbol, unknown>)[SPAN] as RawSpan | undefined) : undefined;
}

/** The record as JSON.parse gives it (parsed once, kept). */
export function plainOf(record: unknown): unknown {
  return spanOf(record) ? real((record as Record<symbol, Target>)[TARGET] as Target) : record;
}

function lazy(span: RawSpan): object {
  return new Proxy({ [SPAN]: span } as Target, handler);
}

/**
 * The answer as JSON.parse reads it, with the array at `path` (a dot path; "." the body itself) made of
 * lazy records, each an object: the envelope (has-more flags, next links) is parsed, the records are only
 * checked to be JSON. Undefined whenever that is not certain (not UTF-8, not JSON, no array of objects
 * there): the caller parses the text as before, and its errors are the ones reported.
 */
export function rawRecords(buf: Buffer, path: string): { body: unknown; records: object[] } | undefined {
  if (!isUtf8(buf)) return undefined;
  const s = new JsonScan(buf);
  const keys = path === '.' ? [] : path.split('.');
  let at = s.ws(0);
  let found: { start: number; end: number; spans: RawSpan[] } | undefined;
  if (!keys.length) {
    found = elements(s, at);
    if (!found || s.ws(found.end) !== buf.length) return undefined;
  }
  for (let k = 0; k < keys.length; k++) {
    const want = Buffer.from(keys[k] as string);
    const last = k === keys.length - 1;
    if (buf[at] !== 0x7b) return undefined;
    let next = -1;
    // The last member of that name wins, as in JSON.parse; only the records array's elements are noted.
    const end = members(s, at, (ks, ke, vs) => {
      if (!keyIs(buf, ks, ke, want, keys[k] as string)) return false;
      if (!last) next = vs;
      else if ((found = elements(s, vs)) === undefined) return -1;
      else return found.end;
      return false;
    });
    if (end < 0) return undefined;
    if (!last) {
      if (next < 0) return undefined;
      at = next;
    }
  }
  if (!found) return undefined;
  const records = found.spans.map(lazy);
  if (!keys.length) return { body: records, records };
  // The rest of the answer, with an empty array where the records were, is checked and read by JSON.parse.
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8', 0, found.start) + '[]' + buf.toString('utf8', found.end));
  } catch {
    return undefined;
  }
  let parent = body as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  parent[keys[keys.length - 1] as string] = records;
  return { body, records };
}

/** The array at `i` if every element is an object: its span and theirs; else undefined. */
function elements(s: JsonScan, i: number): { start: number; end: number; spans: RawSpan[] } | undefined {
  const buf = s.b as Buffer;
  if (buf[i] !== 0x5b) return undefined;
  const spans: RawSpan[] = [];
  const index = new MemberIndex();
  let j = s.ws(i + 1);
  if (buf[j] === 0x5d) return { start: i, end: j + 1, spans };
  for (;;) {
    if (buf[j] !== 0x7b) return undefined;
    const at = index.n;
    const e = indexMembers(s, j, index);
    if (e < 0) return undefined;
    // After the first record: room for as many more as the rest of the answer holds at its size, and a fifth.
    if (at === 0) index.reserve(Math.ceil(((buf.length - e) / (e - j + 1)) * 1.2) * index.n);
    spans.push({ buf, start: j, end: e, index, at, count: (index.n - at) / 5 });
    j = s.ws(e);
    if (buf[j] === 0x5d) return { start: i, end: j + 1, spans };
    if (buf[j] !== 0x2c) return undefined;
    j = s.ws(j + 1);
  }
}
