import type { HttpColumn } from '../../config/http-source-schema';
import { toPgText } from '../define-source';
import { HttpSourceError } from './http-errors';
import { getPath } from './json-path';
import { parseTime } from './time-format';

export type Row = (string | null)[];

const JSON_TYPE = /^jsonb?$/i;

/**
 * API records → rows of the declared columns, as PostgreSQL text: nested objects and arrays become
 * JSON text (see toPgText), and a json/jsonb column always gets JSON (a string value is quoted, so it
 * stays valid JSON). The mapping: and validate: features then work on these rows like any source's.
 */
export function rowMaker(columns: readonly HttpColumn[]): (records: readonly unknown[]) => Row[] {
  const getters = columns.map((c) => {
    const json = JSON_TYPE.test(c.type.trim());
    const format = 'format' in c ? c.format : undefined;
    return (record: unknown): string | null => {
      const v = getPath(record, c.from);
      if (v === undefined || v === null) return null;
      if (format !== undefined) {
        const t = parseTime(v, format);
        if (t === undefined) throw new HttpSourceError(`columns.${c.name}.format`, `the record's "${c.from}" is ${JSON.stringify(v)}, not a time in ${typeof format === 'string' ? format : JSON.stringify(format.pattern)}`);
        return t;
      }
      return json ? JSON.stringify(v) : toPgText(v);
    };
  });
  return (records) =>
    records.map((record, i) => {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw new HttpSourceError('records', `element ${i} of the records array is ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}, not an object`);
      }
      return getters.map((get) => get(record));
    });
}
