/**
 * Source values travel as PostgreSQL text; expressions and mapping modules see them as JSON values
 * by their source column's type (a boolean is true/false, not "t"/"f"), and their results go back to text.
 */
export type Decode = (text: string) => unknown;

const asText: Decode = (t) => t;
/**
 * As PostgreSQL reads a boolean (what a CSV column typed boolean accepts, and what the column stores): true, yes,
 * on, 1 and false, no, off, 0, any case, unique prefixes, spaces around. Only "t"/"true" and "f"/"false" were read
 * before: a CSV "no" was the text "no", true in `=active ? … : …` while the column stored false (an acceptance run).
 */
export function pgBoolean(t: string): boolean | undefined {
  const v = t.trim().toLowerCase();
  const prefixOf = (word: string) => v.length > 0 && word.startsWith(v);
  if (v === '1' || v === 'on' || prefixOf('true') || prefixOf('yes')) return true;
  if (v === '0' || v === 'off' || v === 'of' || prefixOf('false') || prefixOf('no')) return false;
  return undefined;
}
const asBoolean: Decode = (t) => pgBoolean(t) ?? t;
// Integers beyond 2^53 stay text: a number would silently change them.
const asInteger: Decode = (t) => {
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : t;
};
const asNumber: Decode = (t) => {
  const n = Number(t);
  return t.trim() !== '' && Number.isFinite(n) ? n : t;
};
const asJson: Decode = (t) => {
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return t;
  }
};

/** How values of a PostgreSQL type are read into expressions (by the type's name, as sources report it). */
export function decoderFor(pgType: string): Decode {
  const t = pgType.toLowerCase().trim();
  if (t === 'boolean' || t === 'bool') return asBoolean;
  if (/^(smallint|integer|bigint|int[248]?|serial[248]?|smallserial|bigserial)$/.test(t)) return asInteger;
  if (/^(numeric|decimal|real|double precision|float[48]?)\b/.test(t)) return asNumber;
  if (t === 'json' || t === 'jsonb') return asJson;
  return asText;
}

/** What an expression may return into a column of this type (the check a result must pass). */
export type ColumnKind = 'text' | 'integer' | 'number' | 'boolean' | 'json' | 'timestamp';

export function columnKind(pgType: string): ColumnKind {
  const decode = decoderFor(pgType);
  if (decode === asBoolean) return 'boolean';
  if (decode === asInteger) return 'integer';
  if (decode === asNumber) return 'number';
  if (decode === asJson) return 'json';
  if (/^(timestamp|date|time)/i.test(pgType.trim())) return 'timestamp';
  return 'text';
}

export class ResultTypeError extends Error {}

// Module-level, not a closure per call: this runs for every value of every record.
function wrong(v: unknown, pgType: string): ResultTypeError {
  return new ResultTypeError(`returned ${describe(v)}, but the column is ${pgType}`);
}

function describe(v: unknown): string {
  const kind = Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  const shown = JSON.stringify(v) ?? String(v);
  return `${kind} (${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown})`;
}

/**
 * A result as PostgreSQL text for a column of this kind; undefined and null become NULL. A value that
 * cannot be one of the column's values throws ResultTypeError (the record goes to dead letters).
 */
export function toColumnText(v: unknown, kind: ColumnKind, pgType: string): string | null {
  if (v === undefined || v === null) return null;
  switch (kind) {
    case 'json':
      return JSON.stringify(v);
    case 'boolean':
      if (typeof v === 'boolean') return v ? 'true' : 'false';
      throw wrong(v, pgType);
    case 'integer':
      if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') return String(v);
      if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return v.trim();
      throw wrong(v, pgType);
    case 'number':
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return v.trim();
      throw wrong(v, pgType);
    case 'timestamp':
      if (typeof v === 'string') return v;
      if (v instanceof Date) return v.toISOString();
      throw wrong(v, pgType);
    default:
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      if (typeof v === 'boolean') return v ? 'true' : 'false';
      if (v instanceof Date) return v.toISOString();
      if (typeof v === 'bigint') return String(v);
      throw new ResultTypeError(`returned ${describe(v)}, but the column is ${pgType}: use $string(…) for JSON text, or type: jsonb`);
  }
}
