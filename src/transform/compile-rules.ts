import type { FieldRule, RecordSchema } from '../config/transform-schema';

/** The checks each declared type makes on a text value (every value travels as PostgreSQL text). */
const TYPE_CHECKS: Record<NonNullable<FieldRule['type']>, [(v: string) => boolean, string]> = {
  string: [() => true, 'a string'],
  integer: [(v) => /^[+-]?\d+$/.test(v.trim()), 'an integer'],
  number: [(v) => v.trim() !== '' && Number.isFinite(Number(v)), 'a number'],
  boolean: [(v) => /^(true|false|t|f|1|0|yes|no)$/i.test(v.trim()), 'true or false'],
  timestamp: [(v) => plainTimestamp(v) || !Number.isNaN(Date.parse(v.includes('T') || !v.includes(' ') ? v : v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'))), 'a timestamp'],
  json: [
    (v) => {
      try {
        JSON.parse(v);
        return true;
      } catch {
        return false;
      }
    },
    'valid JSON',
  ],
};

/** PostgreSQL's own text of a timestamp(tz) ("2024-01-01 12:00:00.123+00"), or its ISO form, with every part in range. */
const PLAIN_TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(?:Z|[+-](\d\d)(?::?(\d\d))?)?$/;

/** The common case without building a string for Date.parse (which accepts all of these); anything else goes to it. */
function plainTimestamp(v: string): boolean {
  const m = PLAIN_TIMESTAMP.exec(v);
  if (!m) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const zoneOk = m[7] === undefined || (Number(m[7]) <= 23 && (m[8] === undefined || Number(m[8]) <= 59));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59 && zoneOk;
}

/** One field's problems (in the order the rules are listed), or undefined when the value passes. */
type FieldCheck = (v: string | null) => string[] | undefined;

const shown = (v: string) => JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);

/**
 * A rule as plain checks made once per value: the config's rules were checked by zod when it loaded; per
 * record, a chain of closures built here costs a fraction of a schema parse of an object made per record
 * (the mapping + validation benchmark, issue 16).
 */
function fieldCheck(rule: FieldRule): FieldCheck {
  const pattern = rule.pattern ? new RegExp(rule.pattern) : undefined;
  const type = rule.type ? TYPE_CHECKS[rule.type] : undefined;
  const { min, max, maxLength } = rule;
  const allowed = rule.enum;
  return (v) => {
    if (v === null || v === '') return rule.required ? ['is required'] : undefined;
    if (type && !type[0](v)) return [`must be ${type[1]} (got ${shown(v)})`];
    // No closure per value: this runs for every field of every record.
    let out: string[] | undefined;
    if (min !== undefined && Number(v) < min) (out ??= []).push(`must be ≥ ${min} (got ${shown(v)})`);
    if (max !== undefined && Number(v) > max) (out ??= []).push(`must be ≤ ${max} (got ${shown(v)})`);
    if (maxLength !== undefined && v.length > maxLength) (out ??= []).push(`must be at most ${maxLength} characters (got ${v.length})`);
    if (pattern && !pattern.test(v)) (out ??= []).push(`must match /${rule.pattern}/ (got ${shown(v)})`);
    if (allowed && !allowed.includes(v)) (out ??= []).push(`must be one of ${allowed.join(', ')} (got ${shown(v)})`);
    return out;
  };
}

/**
 * The record rules of the config, compiled once per run over the target's columns (by position): a row's
 * problems as one message, "total: must be ≥ 0 (got "-5"); email: is required", or undefined when it passes.
 */
export function compileRecordChecks(rules: RecordSchema, columns: readonly string[]): (row: readonly (string | null)[]) => string | undefined {
  const checks = Object.entries(rules).map(([name, rule]) => {
    const at = columns.indexOf(name);
    if (at < 0) throw new Error(`validate.${name}: no such target column`);
    return { name, at, check: fieldCheck(rule) };
  });
  return (row) => {
    let problems: string[] | undefined;
    for (const { name, at, check } of checks) {
      const found = check(row[at] ?? null);
      if (found) for (const m of found) (problems ??= []).push(`${name}: ${m}`);
    }
    return problems?.join('; ');
  };
}
