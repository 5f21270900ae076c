import { z } from 'zod';
import type { FieldRule, RecordSchema } from '../config/transform-schema';

/** The checks each declared type makes on a text value (every value travels as PostgreSQL text). */
const TYPE_CHECKS: Record<NonNullable<FieldRule['type']>, [(v: string) => boolean, string]> = {
  string: [() => true, 'a string'],
  integer: [(v) => /^[+-]?\d+$/.test(v.trim()), 'an integer'],
  number: [(v) => v.trim() !== '' && Number.isFinite(Number(v)), 'a number'],
  boolean: [(v) => /^(true|false|t|f|1|0|yes|no)$/i.test(v.trim()), 'true or false'],
  timestamp: [(v) => !Number.isNaN(Date.parse(v.includes('T') || !/ /.test(v) ? v : v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'))), 'a timestamp'],
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

function fieldSchema(rule: FieldRule) {
  const pattern = rule.pattern ? new RegExp(rule.pattern) : undefined;
  return z
    .string()
    .nullable()
    .superRefine((v, ctx) => {
      const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
      if (v === null || v === '') {
        if (rule.required) fail('is required');
        return;
      }
      const shown = JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
      if (rule.type) {
        const [ok, what] = TYPE_CHECKS[rule.type];
        if (!ok(v)) return fail(`must be ${what} (got ${shown})`);
      }
      if (rule.min !== undefined && Number(v) < rule.min) fail(`must be ≥ ${rule.min} (got ${shown})`);
      if (rule.max !== undefined && Number(v) > rule.max) fail(`must be ≤ ${rule.max} (got ${shown})`);
      if (rule.maxLength !== undefined && v.length > rule.maxLength) fail(`must be at most ${rule.maxLength} characters (got ${v.length})`);
      if (pattern && !pattern.test(v)) fail(`must match /${rule.pattern}/ (got ${shown})`);
      if (rule.enum && !rule.enum.includes(v)) fail(`must be one of ${rule.enum.join(', ')} (got ${shown})`);
    });
}

/** The record schema of the config, compiled once per run: an object of text-or-null fields. */
export function compileRecordSchema(rules: RecordSchema) {
  return z.object(Object.fromEntries(Object.entries(rules).map(([name, rule]) => [name, fieldSchema(rule)])));
}

/** "total: must be ≥ 0 (got "-5"); email: is required" */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
}
