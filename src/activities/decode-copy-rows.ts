import { decodeCopyValue } from '../pg/copy-text';

/**
 * A page's COPY text back into rows of PostgreSQL text values (the Sink contract's SinkPage.rows), once
 * per page for sinks other than postgres. Escaped newlines and tabs stay inside their field, so every
 * raw newline ends a row and every raw tab ends a field.
 */
export function decodeCopyRows(data: Buffer): (string | null)[][] {
  if (data.length === 0) return [];
  const text = data.toString('utf8');
  const end = text.endsWith('\n') ? text.length - 1 : text.length;
  const rows: (string | null)[][] = [];
  for (const line of text.slice(0, end).split('\n')) rows.push(line.split('\t').map(decodeCopyValue));
  return rows;
}
