import type { ColumnSpec } from '../../sources/source';
import { pgBoolean } from '../../transform/record-values';

type Decode = (text: string) => unknown;

const asText: Decode = (t) => t;
const asInteger: Decode = (t) => {
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : t; // beyond 2^53 a JSON number would lose digits: keep the exact text
};
const asNumber: Decode = (t) => {
  const n = Number(t);
  return Number.isFinite(n) ? n : t; // NaN / Infinity have no JSON number
};
/** numeric's exact text ("1.50", "12345678901234567890") as a JSON number when the number says the same value, else the text (digits a double would lose). */
const asDecimal: Decode = (t) => {
  const n = Number(t);
  return Number.isFinite(n) && decimalDigits(String(n)) === decimalDigits(t) ? n : t;
};
/** A decimal's value as sign, significant digits and exponent ("-1.50" and "-15e-1" alike: "-15e-1"); zero is "0". */
function decimalDigits(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
  if (!m) return text;
  const [int, frac] = [m[2] ?? '', m[3] ?? ''];
  const all = `${int}${frac}`.replace(/^0+/, '');
  const digits = all.replace(/0+$/, '');
  if (!digits) return '0';
  const exp = Number(m[4] ?? 0) - frac.length + (all.length - digits.length);
  return `${m[1] === '-' ? '-' : ''}${digits}e${exp}`;
}
// As PostgreSQL reads it (a CSV column may say yes/no, on/off, 1/0): `yes` was sent as false.
const asBoolean: Decode = (t) => pgBoolean(t) ?? t;
const asJson: Decode = (t) => JSON.parse(t) as unknown;
/** PostgreSQL's ISO text ("2024-01-01 10:00:00.5+00") as RFC 3339 ("2024-01-01T10:00:00.5+00:00"), which APIs parse; infinity and BC dates stay as they are. */
const asTimestamp: Decode = (t) => {
  const m = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)?(:\d\d)?$/.exec(t);
  if (!m) return t;
  return `${m[1]}T${m[2]}${m[3] ? `${m[3]}${m[4] ?? ':00'}` : ''}`;
};

/**
 * The JSON values a column's PostgreSQL text may have been sent as, whatever its type (text, a number, a timestamp,
 * a boolean): for matching a record kept as text (a dead letter) to the delivery ledger's keys, which hold them as sent.
 */
export function sentForms(text: string): unknown[] {
  const forms: unknown[] = [];
  for (const decode of [asText, asInteger, asDecimal, asTimestamp, asBoolean]) {
    const v = decode(text);
    if (!forms.some((f) => f === v)) forms.push(v);
  }
  return forms;
}

/** How a column's PostgreSQL text becomes a JSON value in the record sent to the API. */
function decoderOf(type: string): Decode {
  const t = type.toLowerCase().trim();
  if (t.endsWith('[]')) return asText;
  if (/^(smallint|integer|int|int2|int4|bigint|int8)$/.test(t)) return asInteger;
  if (/^(numeric|decimal)\b/.test(t)) return asDecimal;
  if (/^(real|double precision|float4|float8)\b/.test(t)) return asNumber;
  if (/^bool(ean)?$/.test(t)) return asBoolean;
  if (/^jsonb?$/.test(t)) return asJson;
  if (/^timestamp/.test(t)) return asTimestamp;
  return asText;
}

/** Turns a page's rows (PostgreSQL text aligned with `columns`) into JSON records keyed by column name. */
export class RecordDecoder {
  private readonly decoders: Array<[string, Decode]>;

  constructor(columns: readonly ColumnSpec[]) {
    this.decoders = columns.map((c) => [c.name, decoderOf(c.type)]);
  }

  decode(row: ReadonlyArray<string | null>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [i, [name, decode]] of this.decoders.entries()) {
      const v = row[i];
      out[name] = v === null || v === undefined ? null : decode(v);
    }
    return out;
  }
}
