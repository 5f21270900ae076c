import type { CsvSourceConfig } from '../config/csv-source-schema';
import { valueCheck } from '../sources/csv/csv-value-check';

/** The reason a CSV run gives a line with the wrong number of fields (csv-rows.ts). */
const MISSHAPEN = /^line \d+: expected \d+ fields, got \d+/;
const NOT_RETRIED = 'not re-processed: its values were placed by position in a line with the wrong number of fields; fix the line in the file and read it again (a backfill)';
/** The reason for a line whose bytes are not UTF-8 (invalid-utf8.ts): its values hold U+FFFD, never written. */
const NOT_UTF8 = /^line \d+: not valid UTF-8 /;
const NOT_UTF8_RETRIED = 'not re-processed: its values hold U+FFFD in place of bytes that are not UTF-8; read the line again from the file (a backfill)';

/**
 * What the CSV source checks while reading, asked again of a dead letter's record before `dead-letters --retry`
 * writes it: the letter may be one the source refused, not the mapping. A line with the wrong field count is never
 * retried (its values are guesses); a value its column's type (in the config as it is now) refuses keeps its letter.
 * Without these, a retry wrote the misplaced values, and one bad number stopped the whole retry with PostgreSQL's
 * error (acceptance run). A line that was not UTF-8 is never retried either. Returns the reason a letter still fails,
 * or undefined.
 */
export function csvLetterProblem(cfg: CsvSourceConfig): (record: Record<string, unknown>, reason: string) => string | undefined {
  const checks = Object.entries(cfg.columns ?? {}).flatMap(([csvName, spec]) => {
    if (typeof spec === 'string') return [];
    const check = valueCheck(spec.type);
    return check ? [{ name: spec.name ?? csvName, check }] : [];
  });
  return (record, reason) => {
    if (MISSHAPEN.test(reason)) return reason.includes(NOT_RETRIED) ? reason : `${reason} (${NOT_RETRIED})`;
    if (NOT_UTF8.test(reason)) return reason.includes(NOT_UTF8_RETRIED) ? reason : `${reason} (${NOT_UTF8_RETRIED})`;
    const problems = checks.flatMap(({ name, check }) => {
      const v = record[name];
      const p = typeof v === 'string' ? check(v) : undefined;
      return p ? [`${name}: ${p}`] : [];
    });
    return problems.length ? problems.join('; ') : undefined;
  };
}
