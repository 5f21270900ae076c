import { open, type FileHandle } from 'node:fs/promises';
import { checkOpened, READ_NO_FOLLOW } from './confined-path';
import { fingerprint, TAIL_BYTES } from './csv-cursor';
import { CsvFileError } from './csv-errors';
import { readError, readRecords, type CsvDialect, type CsvRecord } from './csv-reader';

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const UTF16_BOMS = [Buffer.from([0xff, 0xfe]), Buffer.from([0xfe, 0xff])];
const SAMPLE_RECORDS = 1000;
const SAMPLE_BYTES = 256 * 1024;

/** What the start of the file says: where records begin, and the identity of its first line. */
export interface FileHead {
  /** Bytes of the byte-order mark (skipped, but counted in offsets). */
  bom: number;
  /** The first record (the header line when `header: true`); undefined for an empty file. */
  first?: CsvRecord;
  /** Fingerprint of the bytes up to the end of the first record (BOM included, line break not). */
  head: string;
}

/** An open CSV file: positioned reads for fingerprints and raw records; records stream separately. */
export class CsvFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly dialect: CsvDialect,
    /** Named in read errors' hints (the command that resumes). */
    private readonly integration: string,
  ) {}

  static async open(path: string, dialect: CsvDialect, integration: string): Promise<CsvFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, READ_NO_FOLLOW);
    } catch (err) {
      throw readError(err, path, 0, 1, { integration });
    }
    await checkOpened(fh, path);
    const file = new CsvFile(path, fh, dialect, integration);
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw new CsvFileError(`source.path ${path} is not a regular file`);
    }
    return file;
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  async stat(): Promise<{ size: number; modifiedMs: number }> {
    const st = await this.fh.stat();
    return { size: st.size, modifiedMs: st.mtimeMs };
  }

  async bytes(from: number, to: number): Promise<Buffer> {
    const buf = Buffer.alloc(Math.max(to - from, 0));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.fh.read(buf, got, buf.length - got, from + got);
      if (!bytesRead) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  }

  /** Reads the first record after the BOM (a UTF-16 BOM is refused: offsets assume an 8-bit encoding). */
  async readHead(): Promise<FileHead> {
    const start = await this.bytes(0, 3);
    if (UTF16_BOMS.some((b) => start.subarray(0, 2).equals(b))) {
      throw new CsvFileError(`source.path ${this.path} is UTF-16 (it starts with a UTF-16 byte-order mark): convert it to UTF-8`);
    }
    const bom = this.dialect.encoding === 'utf8' && start.equals(UTF8_BOM) ? UTF8_BOM.length : 0;
    let first: CsvRecord | undefined;
    for await (const records of readRecords(this.path, { offset: bom, line: 0 }, this.dialect, { integration: this.integration })) {
      first = records[0];
      break;
    }
    // Without its line break: a first line that gets one appended later is still the same line.
    const line = await this.bytes(0, first?.end ?? bom);
    let end = line.length;
    while (end > 0 && (line[end - 1] === 0x0a || line[end - 1] === 0x0d)) end--;
    return { bom, first, head: fingerprint(line.subarray(0, end)) };
  }

  /** Fingerprint of the bytes just before `offset` (see csv-cursor.ts), and whether they end a line. */
  async tail(offset: number): Promise<{ tail: string; endsLine: boolean }> {
    const bytes = await this.bytes(Math.max(0, offset - TAIL_BYTES), offset);
    const last = bytes[bytes.length - 1];
    return { tail: fingerprint(bytes), endsLine: last === 0x0a || last === 0x0d };
  }

  /** A record's text as in the file (for dead letters), without surrounding line breaks; long ones cut. */
  async raw(record: CsvRecord, max = 1000): Promise<string> {
    const buf = await this.bytes(record.start, Math.min(record.end, record.start + max + 8));
    const text = buf.toString(this.dialect.encoding).replace(/^[\r\n]+|[\r\n]+$/g, '');
    return record.end - record.start > max + 8 ? `${text.slice(0, max)}…` : text;
  }

  /**
   * Average bytes per record, from the first records after `from` and the last ones before `to`
   * (records often grow along a file: ids get longer). For row estimates only: undefined without records.
   */
  async averageRecordBytes(from: number, to: number): Promise<number | undefined> {
    const head = await this.sample(from, to);
    // The tail sample starts after a line break, which may sit inside a quoted value: then it is dropped.
    const near = Math.max(from, to - SAMPLE_BYTES);
    const nl = near > from ? (await this.bytes(near, to)).indexOf(0x0a) : -1;
    const tail = nl >= 0 ? await this.sample(near + nl + 1, to) : { n: 0, bytes: 0 };
    const n = head.n + tail.n;
    return n ? (head.bytes + tail.bytes) / n : undefined;
  }

  private async sample(from: number, to: number): Promise<{ n: number; bytes: number }> {
    let n = 0;
    let end = from;
    try {
      sampling: for await (const records of readRecords(this.path, { offset: from, line: 0 }, this.dialect, { integration: this.integration })) {
        for (const r of records) {
          if (r.end > to) break sampling;
          end = r.end;
          if (++n >= SAMPLE_RECORDS || end - from >= SAMPLE_BYTES) break sampling;
        }
      }
    } catch {
      return { n: 0, bytes: 0 }; // a broken record is reported by the read itself, with its line
    }
    return { n, bytes: end - from };
  }

  /** Physical lines before `offset` (\r\n, \n or \r each end one), for a cursor written by hand without `line`. */
  async linesBefore(offset: number): Promise<number> {
    let lines = 0;
    let prev = 0;
    const chunk = 1024 * 1024;
    for (let at = 0; at < offset; at += chunk) {
      const buf = await this.bytes(at, Math.min(at + chunk, offset));
      if (!buf.length) break;
      for (const b of buf) {
        if (b === 0x0a ? prev !== 0x0d : b === 0x0d) lines++;
        prev = b;
      }
    }
    return lines;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
