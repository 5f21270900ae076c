/**
 * Checks a CSV value against its target column's PostgreSQL type before it is written, so one bad
 * value becomes one dead letter instead of a failed COPY for the whole page. Returns why the value is
 * rejected, or undefined. A check may be stricter than PostgreSQL (dates and timestamps must be ISO
 * 8601; integers plain decimal), never more lenient: what passes, PostgreSQL accepts (tested against
 * pg_input_is_valid). Types without a check here go through as they are; if PostgreSQL rejects such
 * a value, its error fails the run.
 */
export type ValueCheck = (value: string) => string | undefined;

const INT = /^\s*[+-]?\d+\s*$/;
const NUM = /^\s*([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?\s*$/;
const SPECIAL_NUM = /^\s*([+-]?(infinity|inf)|nan)\s*$/i;
const BOOL = /^\s*(t|tr|tru|true|y|ye|yes|on|1|f|fa|fal|fals|false|n|no|of|off|0)\s*$/i;
const UUID = /^\{?[0-9a-f]{4}(-?[0-9a-f]{4}){7}\}?$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(?:\s*(?:Z|UTC|[+-](\d{2})(?::?(\d{2}))?))?$/i;
const TIME_SPECIAL = /^\s*(-?infinity|epoch)\s*$/i;

const INT_RANGE: Record<string, bigint> = { smallint: 2n ** 15n, integer: 2n ** 31n, bigint: 2n ** 63n };
/** Finite, non-zero magnitudes outside these overflow or underflow (PostgreSQL then rejects the value). */
const FLOAT_RANGE: Record<string, [number, number]> = { real: [1.401298464324817e-45, 3.4028234663852886e38], 'double precision': [Number.MIN_VALUE, Number.MAX_VALUE] };
const ALIASES: Record<string, string> = {
  int2: 'smallint',
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  decimal: 'numeric',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  timestamptz: 'timestamp',
  'timestamp with time zone': 'timestamp',
  'timestamp without time zone': 'timestamp',
  varchar: 'character varying',
  char: 'character',
};

/** The check for a column type as written in the config (e.g. "BIGINT", "numeric(12,2)", "varchar(20)"). */
export function valueCheck(type: string): ValueCheck | undefined {
  const t = type.trim().toLowerCase().replace(/\s+/g, ' ');
  const m = /^([a-z0-9 ]+?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?$/.exec(t);
  if (!m) return undefined;
  const p = m[2] === undefined ? undefined : Number(m[2]);
  const s = Number(m[3] ?? 0);
  const base = m[1] === 'float' ? (p !== undefined && p <= 24 ? 'real' : 'double precision') : (ALIASES[m[1] as string] ?? (m[1] as string));
  const bound = INT_RANGE[base];
  if (bound !== undefined) return (v) => checkInt(v, base, bound);
  const range = FLOAT_RANGE[base];
  if (range) return (v) => checkFloat(v, base, range);
  switch (base) {
    case 'numeric':
      return (v) => checkNumeric(v, p, s);
    case 'boolean':
      return (v) => (BOOL.test(v) ? undefined : `${show(v)} is not a boolean (true/false, t/f, yes/no, on/off, 1/0)`);
    case 'uuid':
      return (v) => (UUID.test(v) ? undefined : `${show(v)} is not a uuid`);
    case 'json':
      return (v) => checkJson(v, false);
    case 'jsonb':
      return (v) => checkJson(v, true);
    case 'date':
      return (v) => checkDateTime(v, DATE, 'date (YYYY-MM-DD)');
    case 'timestamp':
      return (v) => checkDateTime(v, TIMESTAMP, 'ISO 8601 timestamp (YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][Z|±HH[:MM]])');
    case 'character varying':
    case 'character':
      return p === undefined ? undefined : (v) => checkLength(v, p, base === 'character');
    default:
      return undefined;
  }
}

/** A file's text quoted in a message, at most 60 characters: a message must not carry a file's contents (a header line). */
export function show(v: string): string {
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
}

function checkInt(v: string, type: string, bound: bigint): string | undefined {
  if (!INT.test(v)) return `${show(v)} is not an integer`;
  const n = BigInt(v.trim());
  return n < -bound || n >= bound ? `${show(v)} is out of range for ${type}` : undefined;
}

function checkFloat(v: string, type: string, [min, max]: [number, number]): string | undefined {
  if (SPECIAL_NUM.test(v)) return undefined;
  if (!NUM.test(v)) return `${show(v)} is not a number`;
  const n = Math.abs(Number(v.trim()));
  const zero = !/[1-9]/.test(v.replace(/[eE].*$/, ''));
  return n > max || (!zero && n < min) ? `${show(v)} is out of range for ${type}` : undefined;
}

function checkNumeric(v: string, precision: number | undefined, scale: number): string | undefined {
  const m = NUM.exec(v);
  if (!m) {
    if (!SPECIAL_NUM.test(v)) return `${show(v)} is not a number`;
    return precision === undefined || /nan/i.test(v) ? undefined : `${show(v)} does not fit numeric(${precision},${scale})`;
  }
  const exp = Number(m[5] ?? 0);
  if (Math.abs(exp) > 1000) return `${show(v)} is out of range for numeric (exponent above 1000)`;
  if (precision === undefined) return undefined;
  // The digits before the point once the exponent is applied and the value rounded to `scale` places.
  const digits = `${m[2] ?? ''}${m[3] ?? m[4] ?? ''}`;
  const point = (m[2] ?? '').length + exp;
  let int = point > 0 ? digits.slice(0, point).padEnd(point, '0').replace(/^0+/, '') : '';
  const frac = point >= 0 ? digits.slice(point) : '0'.repeat(-point) + digits;
  if ((frac[scale] ?? '0') >= '5' && /^9*$/.test(int) && /^9*$/.test(frac.slice(0, scale))) int = `1${int}`; // rounds up a digit
  return int.length > precision - scale ? `${show(v)} does not fit numeric(${precision},${scale}) (at most ${precision - scale} digits before the point)` : undefined;
}

function checkJson(v: string, binary: boolean): string | undefined {
  try {
    JSON.parse(v);
  } catch {
    return `${show(v)} is not valid JSON`;
  }
  if (!binary) return undefined;
  // jsonb stores text, so it refuses what text cannot hold: NUL, and UTF-16 surrogates without their pair
  if (/\\u0000/i.test(v)) return `${show(v)} contains \\u0000, which jsonb cannot store`;
  const unpaired = /\\u[dD][89a-fA-F]/.test(v) && /\\u[dD][89a-fA-F]/.test(v.replace(/\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}/g, ''));
  return unpaired ? `${show(v)} contains an unpaired \\uD800-\\uDFFF escape, which jsonb cannot store` : undefined;
}

function checkDateTime(v: string, re: RegExp, what: string): string | undefined {
  const m = re.exec(v.trim());
  if (m) {
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    const hour = Number(m[4] ?? 0);
    const min = Number(m[5] ?? 0);
    const sec = Number(m[6] ?? 0);
    const dateOk = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
    const timeOk = min <= 59 && sec <= 60 && (hour < 24 || (hour === 24 && min === 0 && sec === 0 && !Number(m[7] ?? 0)));
    const zoneOk = Number(m[8] ?? 0) <= 15 && Number(m[9] ?? 0) <= 59;
    if (dateOk && timeOk && zoneOk) return undefined;
  } else if (TIME_SPECIAL.test(v)) return undefined;
  return `${show(v)} is not a valid ${what}`;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function checkLength(v: string, max: number, padded: boolean): string | undefined {
  const n = [...(padded ? v.trimEnd() : v)].length;
  return n > max ? `${show(v)} is longer than ${max} characters` : undefined;
}
