/**
 * Exact ordering of ISO-8601 timestamps as APIs send them. A JS Date keeps milliseconds only, so two
 * timestamps that differ in the microseconds would compare equal and a record could be cut off at a
 * page boundary; the key keeps every fractional digit (nanoseconds since the epoch, as a bigint).
 */
const ISO = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/;

/** Keys of recent texts: a page compares each record's time several times, and neighbours often share one. */
const recent = new Map<string, bigint | undefined>();
const RECENT_MAX = 4096;

export function timeKey(value: string): bigint | undefined {
  const hit = recent.get(value);
  if (hit !== undefined || recent.has(value)) return hit;
  const k = parseKey(value);
  if (recent.size >= RECENT_MAX) recent.clear();
  recent.set(value, k);
  return k;
}

function parseKey(value: string): bigint | undefined {
  const m = ISO.exec(value);
  if (!m) return undefined;
  const zone = m[4] === 'Z' ? 'Z' : (m[4] as string).replace(/^([+-]\d\d)(\d\d)$/, '$1:$2');
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
}

export function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && timeKey(value) !== undefined;
}

export function compareTimes(a: string, b: string): number {
  const x = timeKey(a) as bigint;
  const y = timeKey(b) as bigint;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `ms` milliseconds after `iso`, as ISO text (millisecond precision is enough for window ends we choose). */
export function addMs(iso: string, ms: number): string {
  return new Date(Number((timeKey(iso) as bigint) / 1_000_000n) + ms).toISOString();
}
