import { open, type FileHandle } from 'node:fs/promises';
import { checkOpened, READ_NO_FOLLOW } from './confined-path';
import { pipeline, type TransformCallback } from 'node:stream';
import { CsvError, Parser, type Options } from 'csv-parse';
import { CsvFileError, CsvFormatError } from './csv-errors';

/** How the file is written: the source config's dialect fields. */
export interface CsvDialect {
  delimiter: string;
  quote: string | false;
  escape?: string;
  encoding: 'utf8' | 'latin1';
}

export interface CsvRecord {
  fields: string[];
  /** Byte offset where the previous record ended (blank lines before this one are in between). */
  start: number;
  /** Byte offset just after this record's line break (or the end of the file). */
  end: number;
  /** Physical line (1-based) the record starts on. */
  line: number;
  /** Line breaks from the start of the file up to `end`, counting one for a last record without any. */
  lines: number;
}

/** What read errors name: the integration (its resume command) and, once known, the header's column names. */
export interface ReadContext {
  integration: string;
  header?: readonly string[];
}

/** A record over this size is a broken file (typically an unclosed quote), not data: it stops the run. */
export const MAX_RECORD_BYTES = 32 * 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;

interface Parsed {
  fields: string[];
  end: number;
  blank: number;
}

/** A parse error, delivered in order after the records before it (an 'error' event drops buffered ones). */
interface Failed {
  error: unknown;
}

/**
 * csv-parse updates `info` as it goes, so it is exact only at the moment a record is pushed: capture
 * the byte position there (the record's line break included) instead of `info: true`, which copies
 * the whole info object per record (measured: 60% slower). Records go out as one array per read
 * chunk (one await per chunk, not per record), and a parse error ends the stream in-band after them,
 * so every good record before it still reaches the reader (and gets committed).
 */
class OffsetParser extends Parser {
  private pending: Parsed[] = [];

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null, encoding);
    this.pending.push({ fields: chunk as string[], end: this.info.bytes, blank: this.info.empty_lines });
    return true;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    super._transform(chunk, encoding, (err) => this.settle(err, callback));
  }

  override _flush(callback: TransformCallback): void {
    super._flush((err) => this.settle(err, callback));
  }

  private settle(err: Error | null | undefined, callback: TransformCallback): void {
    const records = this.pending;
    this.pending = [];
    if (records.length) super.push(records);
    if (err) {
      super.push({ error: err } satisfies Failed);
      super.push(null);
    }
    callback();
  }
}

function isFailed(x: unknown): x is Failed {
  return typeof x === 'object' && x !== null && 'error' in x;
}

export function parserOptions(d: CsvDialect): Options {
  return {
    delimiter: d.delimiter,
    quote: d.quote === false ? null : d.quote,
    escape: d.quote === false ? null : (d.escape ?? d.quote),
    encoding: d.encoding,
    bom: false, // the BOM is skipped by starting after it (csv-file.ts), so offsets stay in file bytes
    relax_column_count: true, // a record with the wrong field count is a bad row, not the end of the run
    skip_empty_lines: true,
    // Any of the three, line by line: csv-parse would otherwise take the first line's ending for the whole file, and a
    // file joined from two systems kept a CR in values or glued LF lines into one record (silently).
    record_delimiter: ['\r\n', '\n', '\r'],
    max_record_size: MAX_RECORD_BYTES,
  };
}

/**
 * Records from byte `from.offset` (a record start) to the end of the file, streamed in the batches
 * parsed from each read chunk: memory holds a few chunks and their records, whatever the file's size.
 * `from.line` is the number of line breaks before the offset, so lines are numbered as in the file.
 */
export async function* readRecords(path: string, from: { offset: number; line: number }, dialect: CsvDialect, context: ReadContext): AsyncGenerator<CsvRecord[]> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ_NO_FOLLOW);
  } catch (err) {
    throw readError(err, path, from.offset, from.line + 1, context);
  }
  await checkOpened(fh, path);
  const file = fh.createReadStream({ start: from.offset, highWaterMark: CHUNK_BYTES });
  const parser = new OffsetParser({ ...parserOptions(dialect), readableHighWaterMark: 2 } as Options);
  pipeline(file, parser, () => undefined); // a read error reaches the consumer through the parser
  let end = from.offset;
  let lines = from.line;
  let blank = 0;
  try {
    for await (const batch of parser as AsyncIterable<Parsed[] | Failed>) {
      if (isFailed(batch)) throw batch.error;
      const records = new Array<CsvRecord>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i] as Parsed;
        const line = lines + (p.blank - blank) + 1;
        blank = p.blank;
        lines = line + lineBreaks(p.fields);
        records[i] = { fields: p.fields, start: end, end: from.offset + p.end, line, lines };
        end = from.offset + p.end;
      }
      yield records;
    }
  } catch (err) {
    throw readError(err, path, end, lines + 1, context);
  } finally {
    parser.destroy();
    file.destroy();
  }
}

/** Line breaks inside quoted values (\r\n, \n or \r each count once), so line numbers match the file. */
function lineBreaks(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) {
    if (f.indexOf('\n') === -1 && f.indexOf('\r') === -1) continue;
    n += f.match(/\r\n|\r|\n/g)?.length ?? 0;
  }
  return n;
}

/** A read failure as a CsvFormatError / CsvFileError, whose hint names the integration's resume command. */
export function readError(err: unknown, path: string, offset: number, line: number, context: ReadContext): unknown {
  if (err instanceof CsvError) {
    const e = new CsvFormatError(
      `${path} is not valid CSV in the record that starts on line ${line} (byte ${offset}): ${capped(fieldNamed(err, context.header).replace(/ at line \d+/, ''))}. ` +
        `Records before it were committed and the checkpoint is just before it: fix the file (or the source's delimiter/quote/escape), then run again (\`tidemark resume ${context.integration}\` for a backfill, the next sync for a sync)`,
    );
    [e.unclosedQuote, e.offset] = [err.code === 'CSV_QUOTE_NOT_CLOSED', offset];
    return e;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ELOOP') return new CsvFileError(`source.path ${path} was replaced by a symlink after the run resolved it: refused (a run reads the file its path resolved to when it started)`);
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') return new CsvFileError(`source.path ${path} cannot be read (${code}): ${(err as Error).message}`);
  return err;
}

/** csv-parse quotes the field it failed on ("value is …"): a message must not carry a file's contents. */
function capped(message: string): string {
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/**
 * csv-parse's message with its field counted from 1 and named by the header ("a quote is found on field 1" meant the
 * second field: an acceptance run counted from 1 and looked at the wrong column).
 */
function fieldNamed(err: CsvError, header: readonly string[] | undefined): string {
  const index = (err as CsvError & { column?: unknown }).column;
  if (typeof index !== 'number') return err.message;
  const name = header?.[index];
  return err.message.replace(/ on field \d+/, ` in field ${index + 1}${name === undefined ? '' : ` (${JSON.stringify(name)})`}`);
}
