/**
 * A validating scanner of JSON as UTF-8 bytes: where each value ends, nothing built. It lets a page's
 * records go from the answer's bytes to COPY text without JSON.parse building every object and
 * JSON.stringify writing the nested ones back (issue 13: parse, conversion and decoding were 15 of
 * 17 µs a record). It accepts exactly what JSON.parse accepts (RFC 8259) and reports anything else as
 * -1: the caller then takes the JSON.parse path, whose error is the one the user sees.
 */

/** Deeper than this is read by JSON.parse (the scanner recurses). */
const MAX_DEPTH = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether byte `c` is JSON whitespace (space, tab, newline, carriage return). */
function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

export class JsonScan {
  /** a string since the last reset had an escape sequence */
  escaped = false;
  /** a number since the last reset may not survive a round trip through a double (fraction, exponent, > 15 digits, -0) */
  inexact = false;
  /** whitespace other than spaces (newline, carriage return, tab) was skipped since the last reset */
  spaced = false;

  constructor(readonly b: Uint8Array) {}

  /** The first index from `i` that is not whitespace. */
  ws(i: number): number {
    const b = this.b;
    for (; i < b.length; i++) {
      const c = b[i] as number;
      if (c === 0x20) continue;
      if (!isWs(c)) break;
      this.spaced = true;
    }
    return i;
  }

  /** Index just past the value starting at `i` (no whitespace before it), or -1. */
  value(i: number, depth = 0): number {
    const c = this.b[i];
    if (c === QUOTE) return this.string(i);
    if (c === 0x7b) return this.object(i, depth);
    if (c === 0x5b) return this.array(i, depth);
    if (c === 0x74) return this.literal(i, 'true');
    if (c === 0x66) return this.literal(i, 'false');
    if (c === 0x6e) return this.literal(i, 'null');
    if (c === 0x2d || (c !== undefined && isDigit(c))) return this.number(i);
    return -1;
  }

  /** Index just past the string starting at `i` (a quote), or -1: raw control characters and bad escapes are not JSON. */
  string(i: number): number {
    const b = this.b;
    for (let j = i + 1; j < b.length; ) {
      const c = b[j] as number;
      if (c === QUOTE) return j + 1;
      if (c < 0x20) return -1;
      if (c !== BACKSLASH) {
        j++;
        continue;
      }
      this.escaped = true;
      const e = b[j + 1];
      if (e === 0x75) {
        for (let k = j + 2; k < j + 6; k++) if (k >= b.length || !isHex(b[k] as number)) return -1;
        j += 6;
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2;
      } else {
        return -1;
      }
    }
    return -1;
  }

  /** `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`; marks `inexact` for anything but a short integer. */
  number(i: number): number {
    const b = this.b;
    let j = i;
    if (b[j] === 0x2d) j++;
    const intStart = j;
    if (b[j] === 0x30) j++;
    else if (isDigit(b[j] ?? 0)) while (isDigit(b[j] ?? 0)) j++;
    else return -1;
    const digits = j - intStart;
    let exact = digits <= 15 && !(b[i] === 0x2d && b[intStart] === 0x30);
    if (b[j] === 0x2e) {
      exact = false;
      j++;
      if (!isDigit(b[j] ?? 0)) return -1;
      while (isDigit(b[j] ?? 0)) j++;
    }
    if (b[j] === 0x65 || b[j] === 0x45) {
      exact = false;
      j++;
      if (b[j] === 0x2b || b[j] === 0x2d) j++;
      if (!isDigit(b[j] ?? 0)) return -1;
      while (isDigit(b[j] ?? 0)) j++;
    }
    if (!exact) this.inexact = true;
    return j;
  }

  private literal(i: number, word: string): number {
    for (let k = 0; k < word.length; k++) if (this.b[i + k] !== word.charCodeAt(k)) return -1;
    return i + word.length;
  }

  private array(i: number, depth: number): number {
    if (depth >= MAX_DEPTH) return -1;
    let j = this.ws(i + 1);
    if (this.b[j] === 0x5d) return j + 1;
    for (;;) {
      j = this.value(j, depth + 1);
      if (j < 0) return -1;
      j = this.ws(j);
      const c = this.b[j];
      if (c === 0x5d) return j + 1;
      if (c !== 0x2c) return -1;
      j = this.ws(j + 1);
    }
  }

  private object(i: number, depth: number): number {
    if (depth >= MAX_DEPTH) return -1;
    let j = this.ws(i + 1);
    if (this.b[j] === 0x7d) return j + 1;
    for (;;) {
      j = this.member(j, depth);
      if (j < 0) return -1;
      const c = this.b[j];
      if (c === 0x7d) return j + 1;
      if (c !== 0x2c) return -1;
      j = this.ws(j + 1);
    }
  }

  /** One `"key": value` at `i`; index of the next non-whitespace byte after it, or -1. */
  private member(i: number, depth: number): number {
    if (this.b[i] !== QUOTE) return -1;
    let j = this.string(i);
    if (j < 0) return -1;
    j = this.ws(j);
    if (this.b[j] !== 0x3a) return -1;
    j = this.value(this.ws(j + 1), depth + 1);
    return j < 0 ? -1 : this.ws(j);
  }
}

/**
 * Each member of the object at `i` (a `{`): `visit(keyStart, keyEnd, valueStart)`, the key span with its
 * quotes; it returns false for the value to be scanned here, or where it found the value to end (-1: not
 * JSON). Index past the object, or -1 when it is not valid JSON.
 */
export function members(s: JsonScan, i: number, visit: (ks: number, ke: number, vs: number) => number | false): number {
  const b = s.b;
  let j = s.ws(i + 1);
  if (b[j] === 0x7d) return j + 1;
  for (;;) {
    if (b[j] !== QUOTE) return -1;
    const ke = s.string(j);
    if (ke < 0) return -1;
    let k = s.ws(ke);
    if (b[k] !== 0x3a) return -1;
    const vs = s.ws(k + 1);
    const seen = visit(j, ke, vs);
    const ve = seen === false ? s.value(vs, 1) : seen;
    if (ve < 0) return -1;
    k = s.ws(ve);
    const c = b[k];
    if (c === 0x7d) return k + 1;
    if (c !== 0x2c) return -1;
    j = s.ws(k + 1);
  }
}

/** MemberIndex flag: the key has an escape (so it is compared as JSON.parse reads it, not byte for byte). */
export const KEY_ESCAPED = 8;

/**
 * The top-level members of a page's records, five ints each: key start and end (with its quotes), value
 * start and end, and flags (the value's: 1 a string escape, 2 an inexact number, 4 a newline, return or
 * tab; KEY_ESCAPED). Written by the one scan that checks each record (indexMembers), read by everything
 * after it (a field read, the COPY conversion) instead of scanning the record again.
 */
export class MemberIndex {
  data = new Int32Array(5 * 64);
  n = 0;

  /** Room for `ints` more: one allocation for a page when the caller can tell its size (not one per doubling). */
  reserve(ints: number): void {
    if (this.n + ints <= this.data.length) return;
    const next = new Int32Array(this.n + ints);
    next.set(this.data.subarray(0, this.n));
    this.data = next;
  }

  /** Whether the key of the member at `o` (an offset into `data`) in `buf` is `k` (`want`: its UTF-8 bytes). */
  keyIs(buf: Buffer, o: number, want: Uint8Array, k: string): boolean {
    const d = this.data;
    const ks = d[o] as number;
    const ke = d[o + 1] as number;
    return (d[o + 4] as number) & KEY_ESCAPED ? keyIs(buf, ks, ke, want, k) : sameBytes(buf, ks, ke, want);
  }

  add(ks: number, ke: number, vs: number, ve: number, flags: number): void {
    if (this.n + 5 > this.data.length) this.reserve(this.data.length);
    const d = this.data;
    const n = this.n;
    d[n] = ks;
    d[n + 1] = ke;
    d[n + 2] = vs;
    d[n + 3] = ve;
    d[n + 4] = flags;
    this.n = n + 5;
  }
}

/**
 * The object at `i` (a `{`) checked as `value` checks it (members() walks it), each member noted in `idx`: index
 * past the object, or -1 when it is not valid JSON (what `idx` holds then is meaningless).
 */
export function indexMembers(s: JsonScan, i: number, idx: MemberIndex): number {
  s.escaped = false; // from here on it only ever reports the key just scanned when a member is visited
  return members(s, i, (ks, ke, vs) => {
    const key = s.escaped ? KEY_ESCAPED : 0;
    s.escaped = false;
    s.inexact = false;
    s.spaced = false;
    const ve = s.value(vs, 1);
    if (ve >= 0) idx.add(ks, ke, vs, ve, key | (s.escaped ? 1 : 0) | (s.inexact ? 2 : 0) | (s.spaced ? 4 : 0));
    s.escaped = false;
    return ve;
  });
}

/**
 * Whether the key at `ks..ke` (with its quotes) is `k` (`want`: its UTF-8 bytes): compared as bytes, or
 * read by JSON.parse when it holds an escape.
 */
export function keyIs(b: Buffer, ks: number, ke: number, want: Uint8Array, k: string): boolean {
  for (let i = ks + 1; i < ke - 1; i++) if (b[i] === BACKSLASH) return JSON.parse(b.toString('utf8', ks, ke)) === k;
  return sameBytes(b, ks, ke, want);
}

/** keyIs for a key known to have no escape (MemberIndex flags): its bytes are `want`'s. */
function sameBytes(b: Buffer, ks: number, ke: number, want: Uint8Array): boolean {
  const len = ke - ks - 2;
  if (len !== want.length) return false;
  for (let i = 0; i < len; i++) if (want[i] !== b[ks + 1 + i]) return false;
  return true;
}
