import type { HttpColumn } from '../../config/http-source-schema';
import { toPgText } from '../define-source';
import { HttpSourceError } from './http-errors';
import { compilePath } from './json-path';
import { parseTime } from './time-format';
import { checkNotRelative, isTimeType } from './relative-time';
import { yieldToIo } from '../../util/yield-to-io';
import { prefetch } from '../combinators/prefetch';
import type { Page } from '../source';
import type { RecordPage } from './paginators/page-context';

export type Row = (string | null)[];

const JSON_TYPE = /^jsonb?$/i;

/** One column's value of a record as PostgreSQL text (null: SQL NULL). */
export type Cell = (record: unknown) => string | null;

function cellOf(c: HttpColumn): Cell {
  const json = JSON_TYPE.test(c.type.trim());
  const format = 'format' in c ? c.format : undefined;
  const get = compilePath(c.from);
  if (format !== undefined) {
    return (record) => {
      const v = get(record);
      if (v === undefined || v === null) return null;
      const t = parseTime(v, format);
      if (t === undefined) throw new HttpSourceError(`columns.${c.name}.format`, `the record's "${c.from}" is ${JSON.stringify(v)}, not a time in ${typeof format === 'string' ? format : JSON.stringify(format.pattern)}`);
      return t;
    };
  }
  if (isTimeType(c.type)) {
    return (record) => {
      const v = get(record);
      if (v === undefined || v === null) return null;
      if (typeof v === 'string') checkNotRelative(v, c);
      return toPgText(v);
    };
  }
  return (record) => {
    const v = get(record);
    if (v === undefined || v === null) return null;
    return json ? JSON.stringify(v) : toPgText(v);
  };
}

function checkRecord(record: unknown, i: number): void {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new HttpSourceError('records', `element ${i} of the records array is ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}, not an object`);
  }
}

/**
 * API records → rows of the declared columns, as PostgreSQL text: nested objects and arrays become
 * JSON text (see toPgText), and a json/jsonb column always gets JSON (a string value is quoted, so it
 * stays valid JSON). The mapping: and validate: features then work on these rows like any source's.
 */
export function rowMaker(columns: readonly HttpColumn[]): MakeRows {
  return rowsOf(columns.map(cellOf));
}

/** Each record (checked to be an object) as its cells' values. */
function rowsOf(cells: readonly Cell[]): MakeRows {
  return (records, offset = 0) =>
    records.map((record, i) => {
      checkRecord(record, offset + i);
      return cells.map((cell) => cell(record));
    });
}

/** Records → rows; `offset`: the first record's index in the answer's records array (for messages). */
export type MakeRows = (records: readonly unknown[], offset?: number) => Row[];

/** Records converted between two yields to the event loop (about a millisecond of CPU). */
export const SLICE = 100;

/**
 * `make` a slice of records at a time, letting the event loop run between slices (see yieldToIo): a page's
 * conversion is milliseconds of CPU, and beside the previous page's COPY it took their sum, not the larger.
 */
export function inSlices(make: MakeRows): (records: readonly unknown[]) => Promise<Row[]> {
  return async (records) => {
    const rows: Row[] = [];
    for (let i = 0; i < records.length; i += SLICE) {
      await yieldToIo();
      for (const row of make(records.slice(i, i + SLICE), i)) rows.push(row);
    }
    return rows;
  };
}

/**
 * A style's record pages as row pages, each made into rows while the next page's request is already out
 * (read one page ahead): the request needs the page's cursor, not its rows, so the conversion no longer
 * sits between an answer and the next request (with 50 ms answers, 4 slices sharing the worker's thread
 * waited ~4 ms more per request for it).
 */
export async function* rowPages(pages: AsyncIterable<RecordPage>, toRows: (records: readonly unknown[]) => Promise<Row[]>): AsyncGenerator<Page> {
  for await (const page of prefetch(pages)) yield { rows: await toRows(page.records), cursor: page.cursor };
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * The same rows with every value already escaped for COPY text (`\N` for NULL), for the source's COPY
 * fast path: joined by tabs and newlines they are the page's COPY data, with no second pass over the
 * values. JSON text needs only its backslashes doubled: JSON.stringify writes every control character
 * as an escape sequence, so it holds no raw tab or newline.
 */
export function copyRowMaker(columns: readonly HttpColumn[]): MakeRows {
  return rowsOf(columns.map(copyCellOf));
}

/** One column's value of a record as COPY text (see copyRowMaker). */
export function copyCellOf(c: HttpColumn): Cell {
  const cell = cellOf(c);
  if (JSON_TYPE.test(c.type.trim())) {
    return (record) => {
      const s = cell(record);
      return s === null ? '\\N' : s.includes('\\') ? s.replaceAll('\\', '\\\\') : s;
    };
  }
  return (record) => copyEscape(cell(record));
}

/** A text value escaped for COPY text (`\N` for NULL). */
export function copyEscape(s: string | null): string {
  return s === null ? '\\N' : COPY_SPECIAL.test(s) ? s.replace(COPY_SPECIAL_ALL, (ch) => COPY_ESCAPES[ch] as string) : s;
}

/** COPY text of rows made by copyRowMaker. */
export function copyText(rows: readonly Row[]): string {
  if (!rows.length) return '';
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) lines[i] = (rows[i] as Row).join('\t');
  return `${lines.join('\n')}\n`;
}
