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
