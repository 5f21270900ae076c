import { HttpSourceError } from './http-errors';

/**
 * Words PostgreSQL reads as a time relative to the moment it reads them (`now`, `today`, `tomorrow`, `yesterday`),
 * wherever they stand in the value (`today 12:00`, `10:00 tomorrow`: it splits them off).
 */
const RELATIVE = /(^|[^a-z])(now|today|tomorrow|yesterday)(?![a-z])/i;

/** Whether a time or date column takes its value through this check (`format` columns parse strictly instead). */
export function isTimeType(type: string): boolean {
  return /^\s*(timestamptz|timestamp|timetz|time|date)\b/i.test(type);
}

/**
 * Refuses a record's time value that PostgreSQL would store as the moment of the write: "now" became the sync's
 * time and "yesterday" midnight before it, silently (an acceptance run). Fixed words (`infinity`, `epoch`) are times.
 */
export function checkNotRelative(value: string, column: { name: string; from: string }): void {
  if (!RELATIVE.test(value)) return;
  throw new HttpSourceError(
    `columns.${column.name}`,
    `the record's "${column.from}" is ${JSON.stringify(value)}, which PostgreSQL would store as a time relative to the write, not one the API sent: refused. ` +
      'Declare the column as text to keep the word as it is, or give it a format (e.g. iso) to parse its times strictly',
  );
}
