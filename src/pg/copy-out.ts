import type pg from 'pg';

/** What `COPY … TO STDOUT` gave: its output, and the rows PostgreSQL said it sent (its CommandComplete). */
export interface CopyOutResult {
  data: Buffer;
  rows: number;
}

// Backend message codes (PostgreSQL protocol, "Message Formats").
const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const COPY_OUT_RESPONSE = 0x48; // H
// Messages the server may put between CopyData ones; nothing a page needs.
const INTERLEAVED = new Set([0x4e /* N notice */, 0x53 /* S parameter status */, 0x41 /* A notification */]);

const MIN_CAPACITY = 64 * 1024;

/** The few connection internals a query that reads the socket itself needs (as pg-copy-streams uses them). */
interface Connection {
  stream: NodeJS.ReadableStream;
  query(text: string): void;
}

/**
 * A `COPY … TO STDOUT` as a pg Submittable that reads the protocol itself and appends each CopyData
 * message's payload into one growing Buffer. Why not pg-copy-streams' `to` (which the sink side still
 * uses): it makes a Buffer slice and list entries per message, i.e. per row, and those allocations were
 * a tenth of a backfill's Node CPU and most of its garbage collection (issue 16). It takes the connection's
 * socket the way pg-copy-streams does (the socket's one 'data' listener swapped for its own) and hands it
 * back at CopyDone, or at the first message it does not expect (an ErrorResponse: pg then reports it).
 */
class CopyOutQuery {
  private out: Buffer;
  private len = 0;
  private messages = 0;
  /** Header bytes of the message being read (code + length), when split across socket chunks. */
  private header = Buffer.alloc(5);
  private headerLen = 0;
  /** Body bytes of the current message still to come, and whether they are row data. */
  private bodyLeft = 0;
  private bodyIsData = false;
  private connection: Connection | undefined;
  private pgOnData: ((chunk: Buffer) => void) | undefined;
  private readonly onData = (chunk: Buffer) => this.parse(chunk);
  private reported: number | undefined;
  private failure: Error | undefined;
  private settle!: { resolve: (r: CopyOutResult) => void; reject: (e: Error) => void };
  readonly done = new Promise<CopyOutResult>((resolve, reject) => (this.settle = { resolve, reject }));

  constructor(
    readonly text: string,
    sizeHint = 0,
  ) {
    // Room for the messages' headers too (5 bytes a row: see parse), which are squeezed out as they arrive.
    this.out = Buffer.allocUnsafe(Math.max(MIN_CAPACITY, Math.ceil(sizeHint * 1.25) + MIN_CAPACITY));
  }

  /** pg calls this when the query's turn comes; an Error returned is reported through handleError. */
  submit(connection: Connection): Error | undefined {
    const stream = connection.stream;
    const listeners = stream.listeners('data') as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1) return new Error(`copyOut: expected the connection to have one data listener, found ${listeners.length}`);
    this.connection = connection;
    this.pgOnData = listeners[0];
    stream.removeListener('data', this.pgOnData as (chunk: Buffer) => void);
    stream.on('data', this.onData);
    connection.query(this.text);
    return undefined;
  }

  /** Gives the socket back to pg, with the bytes from `rest` on (the message pg must read next). */
  private detach(rest: Buffer): void {
    const stream = this.connection?.stream;
    const pgOnData = this.pgOnData;
    if (!stream || !pgOnData) return;
    stream.removeListener('data', this.onData);
    stream.on('data', pgOnData);
    this.pgOnData = undefined;
    if (rest.length) pgOnData(rest);
  }

  /**
   * The chunk goes into the page buffer whole (one native copy), and its CopyData payloads are then moved down
   * over the message headers in place (copyWithin). A row is one message of ~100 bytes: a native copy per
   * payload (and per header) cost three times as much, most of it call overhead (issue 16).
   */
  private parse(chunk: Buffer): void {
    const base = this.len;
    this.reserve(chunk.length);
    const out = this.out;
    chunk.copy(out, base);
    const end = base + chunk.length;
    let r = base; // next byte to read
    let w = base; // where the next payload byte goes (w <= r)
    while (r < end) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, end - r);
        if (this.bodyIsData) {
          if (w !== r) out.copyWithin(w, r, r + n);
          w += n;
        }
        this.bodyLeft -= n;
        r += n;
        continue;
      }
      let code: number;
      if (this.headerLen === 0) {
        code = out[r] as number;
        if (code !== COPY_DATA && code !== COPY_DONE && code !== COPY_OUT_RESPONSE && !INTERLEAVED.has(code)) {
          // An ErrorResponse (or anything else): pg reads it from its first byte.
          this.len = w;
          this.detach(chunk.subarray(r - base));
          return;
        }
      }
      // The 5-byte header (code, int32 length including itself), possibly split across chunks.
      if (this.headerLen === 0 && end - r >= 5) {
        code = out[r] as number;
        this.bodyLeft = out.readUInt32BE(r + 1) - 4;
        r += 5;
      } else {
        for (; this.headerLen < 5 && r < end; r++) this.header[this.headerLen++] = out[r] as number;
        if (this.headerLen < 5) break;
        this.headerLen = 0;
        code = this.header[0] as number;
        this.bodyLeft = this.header.readUInt32BE(1) - 4;
      }
      this.bodyIsData = code === COPY_DATA;
      if (this.bodyIsData) this.messages++;
      if (code === COPY_DONE) {
        this.len = w;
        this.detach(chunk.subarray(r - base));
        return;
      }
    }
    this.len = w;
  }

  /** Room for `n` more bytes after the data so far. */
  private reserve(n: number): void {
    if (this.len + n <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.len + n));
    this.out.copy(grown, 0, 0, this.len);
    this.out = grown;
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)$/.exec(msg.text ?? '');
    if (m) this.reported = Number(m[1]);
  }

  handleError(err: Error): void {
    // The socket may still be ours (the connection broke mid-COPY): give it back so pg sees the rest.
    this.detach(Buffer.alloc(0));
    this.failure ??= err;
    this.settle.reject(err);
  }

  handleReadyForQuery(): void {
    if (this.failure) return;
    const rows = this.reported;
    // Text COPY sends one CopyData message per row: a count that differs means bytes were lost or misread.
    if (rows === undefined || rows !== this.messages) {
      this.settle.reject(new Error(`copyOut: PostgreSQL reported ${rows ?? 'no'} rows but ${this.messages} row messages arrived (${this.text.slice(0, 80)})`));
      return;
    }
    // A page buffer much larger than its data would be kept as long as the page: trim it.
    const data = this.out.length > this.len * 1.5 + 2 * MIN_CAPACITY ? Buffer.from(this.out.subarray(0, this.len)) : this.out.subarray(0, this.len);
    this.settle.resolve({ data, rows });
  }

  // pg calls these for other queries' messages; a COPY TO has none of them.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/**
 * Runs `COPY … TO STDOUT` (text format) and returns its output (a page: bounded by the query's LIMIT)
 * and its row count. `sizeHint`: the expected size in bytes (the previous page's), to allocate once.
 */
export function copyOut(client: pg.Client, sql: string, sizeHint?: number): Promise<CopyOutResult> {
  const q = new CopyOutQuery(sql, sizeHint);
  client.query(q as unknown as pg.QueryConfig);
  return q.done;
}
