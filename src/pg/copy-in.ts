import type pg from 'pg';

// Frontend message codes (PostgreSQL protocol, "Message Formats").
const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
/** Largest CopyData message sent: a page of any size goes as messages of at most this many bytes. */
const MESSAGE_MAX = 1 << 20;

/** The few connection internals a query that writes the socket itself needs (as pg-copy-streams uses them). */
interface Connection {
  stream: NodeJS.WritableStream & { cork(): void; uncork(): void };
  query(text: string): void;
}

/**
 * `COPY … FROM STDIN` (with statements before and after it in the same script) as a pg Submittable that
 * sends the query, every CopyData message and CopyDone at once, without waiting for the server's
 * CopyInResponse as pg-copy-streams' `from` does: a page's write is one round trip, not two, so the sink's
 * backend is not left waiting for the worker's thread to answer in between (issue 16). The protocol allows
 * it: the server reads the data when the COPY starts, and CopyData or CopyDone arriving when no COPY runs
 * (the script failed before it, or the COPY failed midway) are ignored by the server, which reports the
 * failure as usual (ErrorResponse, then ReadyForQuery); pg passes that error on and nothing after it runs.
 */
class CopyInQuery {
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  readonly done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));

  constructor(
    readonly text: string,
    private readonly data: Buffer,
  ) {}

  /** pg calls this when the query's turn comes. */
  submit(connection: Connection): void {
    const { stream } = connection;
    stream.cork();
    connection.query(this.text);
    for (let at = 0; at < this.data.length; at += MESSAGE_MAX) {
      const part = this.data.subarray(at, Math.min(at + MESSAGE_MAX, this.data.length));
      stream.write(header(COPY_DATA, part.length));
      stream.write(part);
    }
    stream.write(header(COPY_DONE, 0));
    stream.uncork();
  }

  handleError(err: Error): void {
    this.settle.reject(err);
  }

  handleReadyForQuery(): void {
    this.settle.resolve();
  }

  // The data went with the query; statements of the script may return rows, which a page's write does not need.
  handleCopyInResponse(): void {}
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** A message's 5-byte header: its code and its length (int32, counting itself). */
function header(code: number, bodyLength: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = code;
  h.writeUInt32BE(bodyLength + 4, 1);
  return h;
}

/**
 * Runs `sql` — a script with one `COPY … FROM STDIN` in it (statements may come before and after) — with
 * `data` (COPY text) as the COPY's input. Resolves when the whole script has run; rejects with the server's
 * error (a pg DatabaseError, with its SQLSTATE `code`), after which nothing of the script after it has run.
 */
export function copyIn(client: pg.Client, sql: string, data: Buffer): Promise<void> {
  const q = new CopyInQuery(sql, data);
  client.query(q as unknown as pg.QueryConfig);
  return q.done;
}
