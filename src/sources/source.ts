import type { Cursor } from '../cursor/cursor';
import type { Rejected } from '../transform/record-pipeline';

/**
 * The one contract every source implements (built-in kinds and custom ones alike):
 * after a given cursor, yield pages of rows in cursor order, each with the cursor after its last row.
 * The caller commits a page, then asks for more; a source never reads ahead unboundedly.
 */
export interface ColumnSpec {
  name: string;
  /** SQL type for the target column, e.g. "timestamp with time zone", "bigint", "jsonb". */
  type: string;
  notNull: boolean;
}

export interface Page {
  /** Values aligned with SourcePlan.columns: strings in PostgreSQL text format, or null. */
  rows: (string | null)[][];
  /** Position after the last row of this page (exclusive lower bound of the next read). */
  cursor: Cursor;
  /**
   * Records of this page the source itself could not turn into rows (a CSV line with the wrong field
   * count, a value its column's type rejects): they go to tidemark.dead_letters with the page, and
   * count as read. Keyed by the plan's column names, like a pipeline's rejects.
   */
  rejected?: Rejected[];
  /** What the run should report (a child stream's parent skipped as gone): added to tidemark.runs.warnings with the page. */
  warnings?: string[];
}

/**
 * A page already in PostgreSQL's COPY text format (one line per row, columns as in SourcePlan.columns):
 * the fast path from a PostgreSQL source to a PostgreSQL sink, with no per-row work in JavaScript.
 */
export interface CopyPage {
  data: Buffer;
  count: number;
  cursor: Cursor;
}

/** A COPY page built from rows, with the records a source or pipeline rejected (they are not in `data`). */
export interface EncodedPage extends CopyPage {
  rejected?: Rejected[];
  warnings?: string[];
  /** Where each row of `data` is in its source, as a line of a file (CSV): a row the target refuses is named by it. */
  rowLines?: number[];
}

export interface PrepareOptions {
  /** Reuse this upper bound (a resumed backfill keeps the one it started with); otherwise computed now. */
  highWater?: string | null;
  /**
   * A run taking a new range (a sync, a backfill's start), not a CLI check: a source may first wait for what would
   * commit late below its upper bound (PostgreSQL: the transactions writing the table, see open-writers.ts).
   */
  newRange?: boolean;
  /** The run's cancellation: a wait in prepare (writersWait) ends with it. */
  signal?: AbortSignal;
  /** Called once when prepare starts waiting for open writers (writersWait): `status` shows who the run waits for. */
  onWritersWait?: (wait: WritersWait) => void;
}

/** A run waiting for the transactions writing its source table to end before it reads (late commits). */
export interface WritersWait {
  table: string;
  /** `pid N`, or a prepared transaction by its gid */
  who: string[];
  /** how long it waits at most */
  waitMs: number;
}

export interface SourcePlan {
  columns: ColumnSpec[];
  /** Exclusive upper bound of this run, in source terms (e.g. now() - lag); null when unbounded. */
  highWater: string | null;
  /** Human description of the read, for logs. */
  describe: string;
  /** Column sets unique in the source, when known: a sink key covering one cannot repeat within a page. */
  uniqueKeys?: string[][];
  /** A partitioned source's partition key: its unique keys include it, though the rest may be unique alone. */
  partitionKey?: string[];
  /** Columns whose collation is nondeterministic ('AX' and 'ax' one value in the source, two in a target in another). */
  nondeterministic?: string[];
  /** Things an operator should fix (e.g. no index serves the keyset order, with the CREATE INDEX to run): logged and shown by `status`. */
  warnings?: string[];
}

export interface ReadOptions {
  /**
   * Rows per page. It may change between pages (live tuning): read it once per page, and judge "last
   * page" against the limit that page was read with, or a retune upwards would end the run early.
   */
  limit: number;
  /** Aborted when the run is being cancelled: stop waiting (the caller stops at the next batch boundary). */
  signal?: AbortSignal;
  /** Called every few seconds while a source or combinator waits on purpose (throttle), so the caller can heartbeat. */
  onIdle?: () => void;
  /** Inclusive upper end of the read (a shard's last key): rows after it belong to the next shard. */
  until?: Cursor;
}

export interface Source {
  readonly kind: string;
  prepare(opts: PrepareOptions): Promise<SourcePlan>;
  /** Validates a cursor from outside (workflow input, checkpoint); throws InvalidCursorError. */
  parseCursor(value: unknown): Cursor;
  /** The later of two cursors, in the source's own order. */
  later(a: Cursor, b: Cursor): Promise<Cursor>;
  /** Pages after `after` (null = from the start) up to the plan's high-water mark. */
  pages(after: Cursor, opts: ReadOptions): AsyncIterable<Page>;
  /** Optional fast path: the same pages as `pages`, as COPY text (with the records the source rejected, if any). Used when no per-record transform applies. */
  copyPages?(after: Cursor, opts: ReadOptions): AsyncIterable<EncodedPage>;
  /** Rows left after `after` (up to `until`, inclusive, when given), when the source can tell cheaply (bounded). */
  estimateRemaining?(after: Cursor, until?: Cursor): Promise<number | undefined>;
  /**
   * Optional, for sharded backfills: up to `parts - 1` cursors, ascending, that cut the rows after `after`
   * (within the prepared plan) into parts of similar size, from statistics or a sample, never a full scan.
   * Part k reads (boundary[k-1], boundary[k]]; fewer boundaries come back when there are too few rows.
   */
  split?(after: Cursor, parts: number): Promise<Cursor[]>;
  /** Optional, for work stealing between the shards of a backfill (see RangeScale); needs prepare() first. */
  rangeScale?: RangeScale;
  /** What the run should report at its end (an API's retries and waits): added to tidemark.runs.warnings. */
  notes?(): string[];
  close(): Promise<void>;
}

/**
 * How a source measures and samples the part of a shard still to read (time-sliced HTTP sources: milliseconds),
 * for work stealing: a shard that finished its range takes the later half of one a sample shows full
 * (activities/steal-work.ts).
 */
export interface RangeScale {
  /** How much of the scale lies between where a read from `after` stands and `until` (null: the plan's high-water mark); a slice in progress counts as read to its end. */
  span(after: Cursor, until: Cursor): number;
  /**
   * Where the records of that part end, found with a few small requests: a cursor just after the last one
   * (for the range that runs to the high-water mark, whose end is where the plan stopped, not where records
   * are), null when it holds none. `signal`: no shard waits for it any more (no further request goes out; those waiting for the rate budget or an answer give up).
   */
  recordsEnd(after: Cursor, until: Cursor, signal?: AbortSignal): Promise<Cursor>;
  /**
   * That part cut into `parts` equal spans (aligned bounds, the first where the read stands, the last its end) and
   * how many records each holds, up to `limit` (one request each, sent at once): a lower bound on what is left
   * that one instant's burst cannot inflate. Fewer parts when the part is too narrow to cut.
   */
  sample(after: Cursor, until: Cursor, parts: number, limit: number): Promise<{ bounds: Cursor[]; counts: number[] }>;
  /**
   * Where a read stands after a page with this cursor (null: nothing read, its start), as text that sorts (byte by byte) like the positions:
   * the page's records lie at or before it, and a page read with a later end holds the same records as one read
   * with any end after it (time windows: records up to T; a slice in progress: up to its end). A shard whose range
   * a take cut keeps its pages in flight that lie before the cut (record-page.ts). Undefined: no such position.
   */
  key(cursor: Cursor): string | undefined;
}
