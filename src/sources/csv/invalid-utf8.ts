import { isUtf8 } from 'node:buffer';

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

/**
 * The dead letter's reason for a line that is not UTF-8 under `encoding: utf8`: its values would hold U+FFFD in
 * place of the bytes, which is silent damage (an acceptance run found it written so), so the line is a letter.
 */
export function notUtf8Reason(line: number, byte: number, columns: readonly string[]): string {
  return (
    `line ${line}: not valid UTF-8 at byte ${byte} of the file (in ${columns.join(', ')}): its values would hold U+FFFD in place of those bytes. ` +
    'If the file is Latin-1 (ISO-8859-1), set the source\'s encoding: latin1 and read it again; else fix the line and read it again (a backfill)'
  );
}
