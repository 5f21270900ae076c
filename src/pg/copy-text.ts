/**
 * Encodes rows for `COPY … FROM STDIN` in PostgreSQL's text format: tab-separated, `\N` for NULL,
 * backslash escapes for backslash, newline, carriage return and tab. Values are already in
 * PostgreSQL text form (identity type parsers), so no other conversion is needed.
 */
const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function encodeCopyValue(v: string | null): string {
  if (v === null) return '\\N';
  return SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (c) => ESCAPES[c] as string) : v;
}

export function encodeCopyRows(rows: ReadonlyArray<ReadonlyArray<string | null>>): string {
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as ReadonlyArray<string | null>;
    let line = '';
    for (let j = 0; j < row.length; j++) line += (j ? '\t' : '') + encodeCopyValue(row[j] ?? null);
    lines[i] = line;
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

const UNESCAPE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** Decodes one field of COPY TO text output (the inverse of the escapes PostgreSQL writes); `\N` is NULL. */
export function decodeCopyValue(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/g, (_, c: string) => UNESCAPE[c] ?? c);
}

/** The fields of the last line of a COPY text buffer (the page's last row, for its cursor). */
export function lastCopyLine(data: Buffer): string[] {
  if (data.length === 0) return [];
  const end = data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
  const start = data.lastIndexOf(0x0a, end - 1) + 1;
  return data.toString('utf8', start, end).split('\t');
}

/** Rows in a COPY text buffer: escaped newlines inside values are `\\n`, so every raw newline ends a row. */
export function countCopyLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) n++;
  return n;
}
