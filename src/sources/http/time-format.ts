import { PATTERN_DIRECTIVES, type TimeFormat } from '../../config/time-pattern';
import { addMs, compareTimes, timeKey } from './time-key';

export { checkPattern, PATTERN_DIRECTIVES, type TimeFormat } from '../../config/time-pattern';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const NS_PER_DAY = 86_400n * NS_PER_S;

/** Exact ISO text (UTC, "Z") of nanoseconds since the epoch: at least milliseconds, more digits only when non-zero. */
export function isoOfNs(ns: bigint): string {
  const ms = ns / NS_PER_MS - (ns % NS_PER_MS < 0n ? 1n : 0n);
  const sub = ns - ms * NS_PER_MS; // 0 ≤ sub < 1e6: the digits after the milliseconds
  const base = new Date(Number(ms)).toISOString(); // …SS.mmmZ
  if (sub === 0n) return base;
  return `${base.slice(0, -1)}${sub.toString().padStart(6, '0').replace(/0+$/, '')}Z`;
}

/** A decimal number as text ("1700000000", "1700000000.123456") scaled exactly to nanoseconds by `unit` ns. */
function decimalToNs(text: string, unit: bigint): bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const digits = unit === NS_PER_S ? 9 : unit === NS_PER_MS ? 6 : 0;
  const frac = (m[3] ?? '').slice(0, digits).padEnd(digits, '0');
  const v = BigInt(m[2] as string) * unit + (digits ? BigInt(frac) : 0n);
  return m[1] ? -v : v;
}

/** A value from an API (string or JSON number) in `fmt` → exact ISO text, or undefined when it is not one. */
export function parseTime(value: unknown, fmt: TimeFormat): string | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return undefined;
  // A JSON number's shortest decimal form is the digits the API wrote (e.g. 1700000000.123): exact.
  const text = typeof value === 'number' ? numberText(value) : typeof value === 'string' ? value : undefined;
  if (text === undefined) return undefined;
  if (fmt === 'iso') {
    const k = timeKey(text);
    return k === undefined ? undefined : text;
  }
  if (fmt === 'epoch_seconds' || fmt === 'epoch_ms') {
    const ns = decimalToNs(text, fmt === 'epoch_seconds' ? NS_PER_S : NS_PER_MS);
    return ns === undefined ? undefined : isoOfNs(ns);
  }
  if (fmt === 'date') {
    const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(text);
    if (!m) return undefined;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text ? undefined : isoOfNs(BigInt(ms) * NS_PER_MS);
  }
  return parsePattern(text, fmt.pattern);
}

/** Exact ISO text → `fmt` (UTC), for a query parameter, header or body. Coarser formats truncate (see truncateTime). */
export function formatTime(iso: string, fmt: TimeFormat): string {
  const ns = timeKey(iso);
  if (ns === undefined) throw new Error(`not an ISO-8601 time: ${iso}`);
  switch (fmt) {
    case 'iso':
      return isoOfNs(ns);
    case 'epoch_seconds':
      return floorDiv(ns, NS_PER_S).toString();
    case 'epoch_ms':
      return floorDiv(ns, NS_PER_MS).toString();
    case 'date':
      return isoOfNs(floorDiv(ns, NS_PER_DAY) * NS_PER_DAY).slice(0, 10);
    default:
      return formatPattern(ns, fmt.pattern);
  }
}

/** The format's unit in ns: a time sent in it is exact only at multiples of this. */
export function unitNs(fmt: TimeFormat): bigint {
  if (fmt === 'epoch_seconds') return NS_PER_S;
  if (fmt === 'epoch_ms') return NS_PER_MS;
  if (fmt === 'date') return NS_PER_DAY;
  if (fmt === 'iso') return 1n;
  if (/%[fN]/.test(fmt.pattern)) return 1_000n;
  if (/%L/.test(fmt.pattern)) return NS_PER_MS;
  if (/%S/.test(fmt.pattern)) return NS_PER_S;
  if (/%M/.test(fmt.pattern)) return 60n * NS_PER_S;
  if (/%H/.test(fmt.pattern)) return 3600n * NS_PER_S;
  return NS_PER_DAY;
}

/** `iso` rounded down to what `fmt` can say (a window bound the API sees exactly as tidemark means it). */
export function truncateTime(iso: string, fmt: TimeFormat): string {
  const ns = timeKey(iso);
  if (ns === undefined) throw new Error(`not an ISO-8601 time: ${iso}`);
  const unit = unitNs(fmt);
  return unit === 1n ? iso : isoOfNs(floorDiv(ns, unit) * unit);
}

/** The bound `ms` after an aligned `from`, cut to the format, and at least one unit of it later (a window never stalls). */
export function stepAfter(from: string, ms: number, fmt: TimeFormat): string {
  const t = truncateTime(addMs(from, ms), fmt);
  if (compareTimes(t, from) > 0) return t;
  return isoOfNs((timeKey(from) as bigint) + unitNs(fmt));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function numberText(n: number): string {
  // Exponent forms (1.7e+21) are beyond any timestamp; integers print whole.
  return Number.isInteger(n) ? BigInt(n).toString() : String(n);
}

const FIELDS: Record<string, { re: string; key: string }> = {
  Y: { re: '(\\d{4})', key: 'Y' },
  m: { re: '(\\d\\d)', key: 'm' },
  d: { re: '(\\d\\d)', key: 'd' },
  H: { re: '(\\d\\d)', key: 'H' },
  M: { re: '(\\d\\d)', key: 'M' },
  S: { re: '(\\d\\d)', key: 'S' },
  L: { re: '(\\d{3})', key: 'L' },
  f: { re: '(\\d{6})', key: 'f' },
  N: { re: '(\\d{9})', key: 'N' },
  z: { re: '(Z|[+-]\\d\\d:?\\d\\d)', key: 'z' },
};

function parsePattern(text: string, pattern: string): string | undefined {
  const keys: string[] = [];
  let re = '';
  let last = 0;
  for (const m of pattern.matchAll(PATTERN_DIRECTIVES)) {
    re += escape(pattern.slice(last, m.index));
    const d = m[1] as string;
    if (d === '%') re += '%';
    else {
      re += (FIELDS[d] as { re: string }).re;
      keys.push(d);
    }
    last = (m.index ?? 0) + m[0].length;
  }
  re += escape(pattern.slice(last));
  const m = new RegExp(`^${re}$`).exec(text);
  if (!m) return undefined;
  const v: Record<string, string> = {};
  keys.forEach((k, i) => (v[k] = m[i + 1] as string));
  const frac = v.N ?? (v.f ? `${v.f}000` : v.L ? `${v.L}000000` : '');
  const zone = v.z ? (v.z === 'Z' ? 'Z' : v.z.replace(/^([+-]\d\d):?(\d\d)$/, '$1:$2')) : 'Z';
  const iso = `${v.Y}-${v.m}-${v.d}T${v.H ?? '00'}:${v.M ?? '00'}:${v.S ?? '00'}${frac ? `.${frac}` : ''}${zone}`;
  const ns = timeKey(iso);
  // Date.parse accepts 2024-02-31 as March 2nd: the date must survive the round trip.
  if (ns === undefined || isoOfNs(floorDiv(ns + offsetNs(zone), NS_PER_DAY) * NS_PER_DAY).slice(0, 10) !== `${v.Y}-${v.m}-${v.d}`) return undefined;
  return isoOfNs(ns);
}

function offsetNs(zone: string): bigint {
  if (zone === 'Z') return 0n;
  const sign = zone.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(zone.slice(1, 3)) * 3600n + BigInt(zone.slice(4, 6)) * 60n) * NS_PER_S;
}

function formatPattern(ns: bigint, pattern: string): string {
  const iso = isoOfNs(floorDiv(ns, NS_PER_MS) * NS_PER_MS); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const sub = ns - floorDiv(ns, NS_PER_S) * NS_PER_S; // ns within the second
  const nine = sub.toString().padStart(9, '0');
  const parts: Record<string, string> = { Y: iso.slice(0, 4), m: iso.slice(5, 7), d: iso.slice(8, 10), H: iso.slice(11, 13), M: iso.slice(14, 16), S: iso.slice(17, 19), L: nine.slice(0, 3), f: nine.slice(0, 6), N: nine, z: '+0000', '%': '%' };
  return pattern.replace(PATTERN_DIRECTIVES, (_, d: string) => parts[d] as string);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
