import type pg from 'pg';
import type { Cursor } from '../cursor/cursor';
import type { ColumnSpec } from '../sources/source';

/**
 * The one contract every sink implements (the PostgreSQL table, an HTTP API, custom kinds alike).
 *
 * The caller (the page loop) owns one transaction per page on the state database: it opens it, hands it
 * to `write`, then saves the checkpoint and the run's counters in it and commits. Whatever a sink must
 * remember about a page goes into that transaction, so it commits with the checkpoint or not at all.
 * Each sink states what that is in `commitsWithCheckpoint`:
 * - postgres: the page's rows (upserted into the target table, which lives in the state database) and
 *   the dead letters of rows the target refused.
 * - http: the delivery ledger rows (tidemark.deliveries: record key → content hash) of the records the API
 *   accepted, and the dead letters of records it refused. The requests themselves cannot be rolled back:
 *   a page whose transaction does not commit is sent again with the same idempotency keys.
 *
 * `write` returns only when every record of the page is either written/delivered or refused (and kept as
 * a dead letter in `tx`); anything else throws, so the checkpoint never moves past a record whose fate
 * is unknown.
 */
export interface Sink {
  readonly kind: string;
  /** One line for operators and the README: what this sink commits together with the checkpoint. */
  readonly commitsWithCheckpoint: string;
  /** Once per run, before the first page: checks the columns against the sink's config (keys, template fields), prepares targets. */
  prepare(columns: readonly ColumnSpec[]): Promise<void>;
  /** One page inside the caller's open transaction `tx` (see above). */
  write(tx: pg.Client, page: SinkPage, ctx: SinkWriteContext): Promise<SinkWriteResult>;
  close(): Promise<void>;
}

export interface SinkPage {
  /** Values aligned with the prepared columns: strings in PostgreSQL text format, or null. */
  rows: ReadonlyArray<ReadonlyArray<string | null>>;
  /** The cursor after the page's last row (dead letters record it). */
  cursor: Cursor;
}

export interface SinkWriteContext {
  /** The integration (or instance) id: state a sink keeps (ledger rows, dead letters) is keyed by it. */
  integration: string;
  runId: string;
  /** Aborted when the run is cancelled: stop waiting; the page then fails and is retried from the checkpoint. */
  signal?: AbortSignal;
  /** Called every few seconds while the sink waits (slow API, Retry-After), so the activity can heartbeat. */
  onIdle?: () => void;
  /**
   * Keeps records the target refused as dead letters in the page's transaction (`tidemark dead-letters` lists them,
   * `--retry` writes them after a fix); a custom sink's `refused` must count exactly the records kept this way.
   */
  refuse?: (letters: ReadonlyArray<{ record: Record<string, unknown>; reason: string }>) => Promise<void>;
  /**
   * Set by `dead-letters --retry`: the dead letter each row of the page comes from (aligned with its rows). A sink
   * whose target remembers requests (an API's idempotency keys) sends them as new requests, not as the refused ones.
   */
  resending?: readonly string[];
}

export interface SinkWriteResult {
  /** Rows written or records delivered (unchanged ones are not counted). */
  written: number;
  /** Records the target refused, already kept as dead letters in the transaction. */
  refused: number;
  /** Records skipped because the target already holds this exact version (HTTP: the ledger's content hash). */
  unchanged?: number;
}
