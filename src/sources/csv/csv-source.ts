import { resolve as resolvePath } from 'node:path';
import type { CsvSourceConfig } from '../../config/csv-source-schema';
import type { Cursor } from '../../cursor/cursor';
import { encodeCopyRows } from '../../pg/copy-text';
import type { Rejected, Row } from '../../transform/record-pipeline';
import type { ResolveEnv } from '../../config/env-refs';
import type { EncodedPage, Page, PrepareOptions, ReadOptions, Source, SourcePlan } from '../source';
import { planColumns } from './csv-columns';
import { laterCsvCursor, parseCsvCursor, type CsvCursor } from './csv-cursor';
import { CsvFileChangedError, CsvFormatError, CsvHeaderError } from './csv-errors';
import { confinedPath } from './confined-path';
import { CsvFile } from './csv-file';
import { readRecords, type CsvDialect, type CsvRecord } from './csv-reader';
import { isBad, RowConverter, type BadRecord } from './csv-rows';
import { notUtf8Columns, notUtf8Reason } from './invalid-utf8';
import { sleep } from '../../util/sleep';

/**
 * `kind: csv`: a CSV file read in file order, by byte offset (see csv-cursor.ts for the cursor).
 *
 * Range of a run: records that start at or after the cursor's offset (open lower end: the record that
 * ends there was committed) and end at or before the high-water mark, the file's size when the run
 * prepared (a resumed backfill keeps its own). Rows appended meanwhile wait for the next run. A cursor
 * whose file shrank below it, or whose first line or preceding bytes changed, fails the run
 * (CsvFileChangedError): the offset would land in another file's data.
 *
 * Bad records (wrong field count, a value its column's type rejects) do not stop the run: each page
 * carries them as `rejected`, and they go to tidemark.dead_letters with the line number and reason in
 * the page's transaction. Broken CSV (an unclosed quote) stops the run after committing the records
 * before it (CsvFormatError, naming the line).
 */
export async function createCsvSource(cfg: CsvSourceConfig, resolve: ResolveEnv, integration = '<integration>'): Promise<Source> {
  // loadConfig made a config-relative path absolute; a path from ${NAME} or a config built in code is relative to the worker.
  const within = cfg.within === undefined ? undefined : resolvePath(resolve(cfg.within, 'within'));
  return new CsvSource(await confinedPath(resolvePath(resolve(cfg.path, 'path')), within), cfg, integration);
}

/** A page with the records the source itself rejected (carried to dead letters like a pipeline's rejects). */
interface Batch {
  rows: Row[];
  /** The file line each row starts on (for the reason of a row the target refuses). */
  rowLines: number[];
  rejected: Rejected[];
  cursor: CsvCursor;
}

interface Prepared {
  file: CsvFile;
  converter: RowConverter;
  /** The column names, from the header line or the config (read errors name a field by them). */
  header: readonly string[];
  head: string;
  /** Where the first data record starts, and the lines before it. */
  dataStart: number;
  dataLine: number;
  highWater: number;
  /** The file's last change when the run prepared (ms since the epoch). */
  modifiedMs: number;
}

/**
 * A last record without a line break is read only once the file has not changed for this long: a writer may
 * still be appending to it (`8,parti` that becomes `8,partial-value`). Read then, its page's cursor stays before
 * it, so if the line does grow later, the next sync reads it again whole and the upsert corrects the row.
 */
export const UNTERMINATED_SETTLE_MS = 5_000;

export class CsvSource implements Source {
  readonly kind = 'csv';
  private readonly dialect: CsvDialect;
  private file?: CsvFile;
  private state?: Prepared;
  private avgRecordBytes?: Promise<number | undefined>;
  /** Why this run left the file's last record for later (see UNTERMINATED_SETTLE_MS). */
  private heldBack?: string;

  constructor(
    readonly path: string,
    private readonly cfg: CsvSourceConfig,
    private readonly integration = '<integration>',
  ) {
    this.dialect = { delimiter: cfg.delimiter, quote: cfg.quote, encoding: cfg.encoding, ...(cfg.escape !== undefined ? { escape: cfg.escape } : {}) };
  }

  async prepare(opts: PrepareOptions): Promise<SourcePlan> {
    const file = (this.file ??= await CsvFile.open(this.path, this.dialect, this.integration));
    const { bom, first, head } = await this.settledHead(file);
    const header = this.cfg.header === true ? first?.fields : this.cfg.header;
    if (!header) throw new CsvHeaderError(`source.path ${this.path} is empty, but header: true needs a first line naming the columns (or give the names: header: [a, b, …])`);
    const columns = planColumns(header, this.cfg, this.path);
    const { size, modifiedMs } = await file.stat();
    // A resumed backfill keeps the window it started with (a size from an older run of this file).
    const highWater = opts.highWater && /^\d+$/.test(opts.highWater) ? Number(opts.highWater) : size;
    const named = this.cfg.header === true;
    this.state = {
      file,
      converter: new RowConverter(columns, header.length, this.cfg.nullValue, this.dialect.encoding === 'utf8'),
      header,
      head,
      dataStart: named ? (first?.end ?? bom) : bom,
      dataLine: named ? (first?.lines ?? 0) : 0,
      highWater,
      modifiedMs,
    };
    this.heldBack = undefined;
    return { columns: columns.map((c) => c.spec), highWater: String(highWater), describe: `${this.path} by byte offset, up to byte ${highWater}` };
  }

  /**
   * The first line, once it is whole: a header line with no line break in a file changed moments ago may be one a
   * writer is still writing (`id,name,no` that becomes `id,name,note`: an acceptance run created its table with a
   * column `no`, and every later run failed). It is read again until it ends or the file has been quiet for
   * UNTERMINATED_SETTLE_MS (a file of just a header without a line break is read then).
   */
  private async settledHead(file: CsvFile): Promise<Awaited<ReturnType<CsvFile['readHead']>>> {
    // Bounded by the clock too: a modification time in the future (clock skew, a copy that kept it) never looks quiet.
    const giveUp = Date.now() + UNTERMINATED_SETTLE_MS;
    for (;;) {
      const head = await file.readHead();
      if (this.cfg.header !== true || !head.first) return head;
      const { size, modifiedMs } = await file.stat();
      const quiet = Date.now() - modifiedMs;
      if (head.first.end < size || (await file.tail(head.first.end)).endsLine || quiet >= UNTERMINATED_SETTLE_MS || Date.now() >= giveUp) return head;
      await sleep(Math.min(250, UNTERMINATED_SETTLE_MS - quiet, giveUp - Date.now()));
    }
  }

  parseCursor(value: unknown): CsvCursor {
    return parseCsvCursor(value);
  }

  async later(a: Cursor, b: Cursor): Promise<Cursor> {
    return laterCsvCursor(parseCsvCursor(a), parseCsvCursor(b));
  }

  async *pages(after: Cursor, opts: ReadOptions): AsyncGenerator<Page> {
    for await (const b of this.batches(after, opts)) yield { rows: b.rows, cursor: b.cursor, ...(b.rejected.length ? { rejected: b.rejected } : {}) };
  }

  /** The same pages as COPY text (no mapping): run-integration writes `rejected` to dead letters. */
  async *copyPages(after: Cursor, opts: ReadOptions): AsyncGenerator<EncodedPage> {
    for await (const b of this.batches(after, opts)) {
      const count = b.rows.length + b.rejected.length;
      yield { data: Buffer.from(encodeCopyRows(b.rows)), count, cursor: b.cursor, rowLines: b.rowLines, ...(b.rejected.length ? { rejected: b.rejected } : {}) };
    }
  }

  /** Rows left, estimated from the bytes left and the average record size of samples at both ends. */
  async estimateRemaining(after: Cursor): Promise<number | undefined> {
    const s = this.ready();
    const from = Math.max(parseCsvCursor(after)?.offset ?? 0, s.dataStart);
    if (from >= s.highWater) return 0;
    this.avgRecordBytes ??= s.file.averageRecordBytes(s.dataStart, s.highWater);
    const avg = await this.avgRecordBytes;
    return avg ? Math.round((s.highWater - from) / avg) : undefined;
  }

  async close(): Promise<void> {
    await this.file?.close();
  }

  notes(): string[] {
    return this.heldBack ? [this.heldBack] : [];
  }

  private ready(): Prepared {
    if (!this.state) throw new Error('CsvSource.prepare() must run before reading');
    return this.state;
  }

  /** Pages of `opts.limit` records (rows and rejects together), each with the cursor after its last record. */
  private async *batches(after: Cursor, opts: ReadOptions): AsyncGenerator<Batch> {
    const s = this.ready();
    let rows: Row[] = [];
    let rowLines: number[] = [];
    let rejected: Rejected[] = [];
    let last: CsvRecord | undefined;
    /** Where the page ends when its last record has no line break: before that record (read again next time). */
    let before: { offset: number; line: number } | undefined;
    let limit = opts.limit; // read once per page: a live retune must not make a full page look like the last one
    const take = async (): Promise<Batch> => {
      const rec = last as CsvRecord;
      const at = before ?? { offset: rec.end, line: rec.lines };
      const { tail } = await s.file.tail(at.offset);
      const batch = { rows, rowLines, rejected, cursor: { offset: at.offset, line: at.line, head: s.head, tail } };
      rows = [];
      rowLines = [];
      rejected = [];
      limit = opts.limit;
      return batch;
    };
    const from = await this.startOf(parseCsvCursor(after));
    let linesBefore = from.line; // line breaks before the record at hand
    try {
      reading: for await (const records of readRecords(this.path, from, this.dialect, { integration: this.integration, header: s.header })) {
        for (const rec of records) {
          if (rec.end > s.highWater) break reading; // appended after this run started: the next run's
          let r = s.converter.convert(rec);
          const replacedIn = s.converter.replacedIn;
          if (replacedIn && !(isBad(r) && r.misshapen)) r = await this.utf8Checked(rec, r, replacedIn);
          if (rec.end === s.highWater && !(await s.file.tail(rec.end)).endsLine) {
            // The file's last record, without a line break: perhaps half written. Too few or too many fields
            // says it is (a dead letter would stay behind once the line is finished), else a quiet file says it is not.
            const quiet = Date.now() - s.modifiedMs;
            const where = `the last line of ${this.path} (line ${rec.line}) has no line break`;
            if (isBad(r) && r.misshapen) {
              this.heldBack = `${where} and ${r.reason.replace(/^line \d+: /, '')}: it is read once it ends with a line break (a writer still writing it, or one that stopped mid-line)`;
              break reading;
            }
            if (quiet < UNTERMINATED_SETTLE_MS) {
              this.heldBack = `${where} and the file changed ${Math.round(quiet / 1000)} s ago: it is read once it ends with a line break, or once the file has not changed for ${UNTERMINATED_SETTLE_MS / 1000} s`;
              break reading;
            }
            before = { offset: rec.start, line: linesBefore };
            // Read as it is, and again when the file grows. A writer that paused mid-line longer than that made a row
            // of the cut line: under another key when the cut fell in the key, that row stays (an acceptance run). Said
            // by the run that first reads it, not by every later run that starts at it (the review).
            if (rec.start !== from.offset) this.heldBack = `${where}: read as it is (the file has not changed for ${Math.round(quiet / 1000)} s) and again once the file grows; if a writer was still writing it, the row made of the cut line stays beside the finished one when the cut fell in its key (delete that row by hand)`;
          }
          linesBefore = rec.lines;
          if (!isBad(r)) {
            rows.push(r);
            rowLines.push(rec.line);
          } else rejected.push({ record: r.record, reason: r.misshapen ? `${r.reason}: ${await s.file.raw(rec)}` : r.reason });
          last = rec;
          if (rows.length + rejected.length >= limit) yield await take();
        }
      }
    } catch (err) {
      // Commit the good records before a broken one, so the checkpoint (and a resume) stops right at it.
      if (rows.length + rejected.length) yield await take();
      // The file ends inside a quoted field and changed moments ago: a writer in the middle of its last record (one
      // line, or a quoted value over several: an acceptance run failed on a note being written), which waits for the
      // next run like any unfinished last line (a file that stays so fails then, naming the line). Only a record in the
      // file's last 64 KiB: an open quote further up is a broken file.
      const quiet = Date.now() - s.modifiedMs;
      const rest = err instanceof CsvFormatError && err.unclosedQuote ? await s.file.bytes(err.offset, err.offset + 65_536) : undefined;
      if (rest && rest.length < 65_536 && quiet < UNTERMINATED_SETTLE_MS) {
        this.heldBack = `the last record of ${this.path} ends inside a quoted field and the file changed ${Math.round(quiet / 1000)} s ago: it is read once it is finished (if it stays so, the run fails naming the line)`;
        return;
      }
      throw err;
    }
    if (rows.length + rejected.length) yield await take();
  }

  /**
   * The row (or value letter) as it is, or a letter when a mapped column's bytes are not UTF-8 (its U+FFFD came from
   * the decoder, not the file). A value letter becomes that letter too: fixed in the config, `--retry` would write it.
   */
  private async utf8Checked(rec: CsvRecord, r: Row | BadRecord, columns: readonly { name: string; index: number }[]): Promise<Row | BadRecord> {
    const s = this.ready();
    const bad = notUtf8Columns(await s.file.bytes(rec.start, rec.end), this.dialect, rec.fields.length, columns);
    if (!bad.length) return r;
    if (isBad(r)) return { ...r, reason: notUtf8Reason(rec.line, bad, r.reason.replace(/^line \d+: /, '')) };
    return { record: s.converter.record(r), reason: notUtf8Reason(rec.line, bad), misshapen: false };
  }

  /** Where a cursor's next record starts in this file, after checking it is the file the cursor was taken on. */
  private async startOf(c: CsvCursor): Promise<{ offset: number; line: number }> {
    const s = this.ready();
    if (!c) return { offset: s.dataStart, line: s.dataLine };
    const size = await s.file.size();
    const changed = (why: string) =>
      new CsvFileChangedError(
        `source.path ${this.path} is not the file the checkpoint was taken on (byte ${c.offset}${c.line !== undefined ? `, after line ${c.line}` : ''}): ${why}. ` +
          `The cursor cannot be used with it: read it from the start with a new backfill (\`tidemark backfill ${this.integration}\`), and for incremental syncs ` +
          `reset the sync checkpoint first (\`tidemark checkpoint reset ${this.integration} --yes\`). Appending rows to a file never causes this`,
      );
    // A hand-written cursor (backfill --from, checkpoint set) carries no head or tail: it was never a file's.
    if (size < c.offset && !c.head && !c.tail) throw new CsvFileChangedError(`source.path ${this.path} has ${size} bytes, and the cursor's offset ${c.offset} is beyond its end: give a byte offset where a line starts, within the file (\`tidemark checkpoint show ${this.integration}\` prints a real one), or null to read it from the start`);
    // A cursor at the data's start (a hand-written { offset: 0 }, or a quiet unfinished first line read and kept
    // before) has committed nothing of the file past it: read from the start, whatever the first line is now (an
    // acceptance run: the writer finished that line, and the run failed as a replaced file). Not a cursor past data
    // lines of a file since replaced by one with a longer header (the review): that one is checked below.
    if (c.offset <= s.dataStart && (c.line ?? 0) <= s.dataLine) return { offset: s.dataStart, line: s.dataLine };
    if (size < c.offset) throw changed(`it has ${size} bytes now, fewer than the checkpoint's offset (truncated or replaced)`);
    if (c.head && c.head !== s.head) throw changed(this.cfg.header === true ? 'its header line changed (replaced)' : 'its first line changed (replaced)');
    if (c.tail && c.tail !== (await s.file.tail(c.offset)).tail) throw changed('the bytes just before the checkpoint changed (rewritten, not appended to)');
    const line = c.line ?? (await s.file.linesBefore(c.offset));
    // A record that ended at a CR when the run read it, whose LF the writer appended since: that CRLF is one line
    // break, counted already (an acceptance run: every later line number was one too high).
    const [cr, lf] = await s.file.bytes(c.offset - 1, c.offset + 1);
    return cr === 0x0d && lf === 0x0a ? { offset: c.offset + 1, line } : { offset: c.offset, line };
  }
}
