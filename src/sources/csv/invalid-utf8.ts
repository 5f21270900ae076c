import { isUtf8 } from 'node:buffer';
import { parse } from 'csv-parse/sync';
import { parserOptions, type CsvDialect } from './csv-reader';

const REPLACEMENT = Buffer.from('\uFFFD');

/**
 * Where the first byte sequence that is not UTF-8 starts in `buf`, or undefined when all of it is UTF-8. The
 * decoder puts one U+FFFD in place of each such sequence; the first U+FFFD whose bytes are not U+FFFD's own
 * (EF BF BD) is it: everything before it decoded from valid sequences, which encode back to the same bytes.
 */
export function invalidUtf8At(buf: Buffer): number | undefined {
  if (isUtf8(buf)) return undefined;
  const text = buf.toString('utf8');
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) {
    const at = Buffer.byteLength(text.slice(0, i));
    if (!buf.subarray(at, at + REPLACEMENT.length).equals(REPLACEMENT)) return at;
  }
  return 0; // not reached: invalid bytes always decode to a U+FFFD
}

/** A column whose value's bytes are not UTF-8: where in the value the first bad sequence starts, and its byte. */
export interface NotUtf8 {
  name: string;
  at: number;
  byte: number;
  /** `at` counts in the value, or in the line when the line could not be split again (see notUtf8Columns). */
  of: 'value' | 'line';
}

/**
 * The columns of `columns` whose values in the record's raw bytes (`line`, one record, parsed again as Latin-1, which
 * keeps every byte) are not UTF-8: a U+FFFD the file holds as such is data, and bytes in a column the config drops
 * are never written (the review: a good row was a letter for those).
 */
export function notUtf8Columns(line: Buffer, dialect: CsvDialect, fieldCount: number, columns: readonly { name: string; index: number }[]): NotUtf8[] {
  const lineAt = invalidUtf8At(line);
  if (lineAt === undefined) return [];
  // The dialect's characters as the bytes they are in the file (a delimiter such as "│" is three): csv-parse reads
  // its options in the parse's encoding.
  const asBytes = (ch: string | undefined) => (ch === undefined ? undefined : Buffer.from(ch, 'utf8').toString('latin1'));
  const options = parserOptions({ ...dialect, encoding: 'latin1', delimiter: asBytes(dialect.delimiter) as string, quote: dialect.quote === false ? false : (asBytes(dialect.quote) as string), ...(dialect.escape !== undefined ? { escape: asBytes(dialect.escape) } : {}) });
  const [fields] = parse(line, options) as string[][];
  // Not split as it was read: every mapped column that holds U+FFFD is named, by the line's first bad byte (fail closed).
  if (fields?.length !== fieldCount) return columns.map(({ name }) => ({ name, at: lineAt, byte: line[lineAt] as number, of: 'line' }));
  return columns.flatMap(({ name, index }) => {
    const bytes = Buffer.from(fields[index] ?? '', 'latin1');
    const at = invalidUtf8At(bytes);
    return at === undefined ? [] : [{ name, at, byte: bytes[at] as number, of: 'value' as const }];
  });
}

/**
 * The dead letter's reason for a line that is not UTF-8 under `encoding: utf8`: its values would hold U+FFFD in
 * place of the bytes, which is silent damage (an acceptance run found it written so), so the line is a letter. It
 * leads any other problem of the line: `dead-letters --retry` knows it by its start and never writes its values.
 */
export function notUtf8Reason(line: number, bad: readonly NotUtf8[], other?: string): string {
  const where = bad.map((b) => `${b.name} (byte ${b.at} of its ${b.of}, 0x${b.byte.toString(16).toUpperCase().padStart(2, '0')})`).join(', ');
  return (
    `line ${line}: not valid UTF-8 in ${where}: its values would hold U+FFFD in place of those bytes. ` +
    "If the file is Latin-1 (ISO-8859-1), set the source's encoding: latin1 and read it again; else fix the line and read it again (a backfill)" +
    (other ? `; the line also has: ${other}` : '')
  );
}
