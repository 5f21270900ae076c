import type { Cursor } from '../cursor/cursor';
import type { WritersWait } from '../sources/source';

/** Shared with workflows (types only: workflow code must not import runtime modules). */
export type RunMode = 'sync' | 'backfill' | 'resume';

export interface RunInput {
  integration: string;
  mode: RunMode;
  /** Backfill: start after this cursor instead of the beginning. */
  from?: Cursor;
  /** Sync: the previous run's result cursor (workflowInfo().lastResult): a cross-check of the checkpoint, used only when there is none. */
  after?: Cursor;
  /** Identity of the workflow run: owns the checkpoint slot and names the tidemark.runs row. */
  runKey: string;
  /** Sharded backfill: the shard this activity reads (slot backfill/<shard>, planned by planBackfill). */
  shard?: number;
  /** How many shards share the run (each gets its part of the rate limit). */
  shards?: number;
  /** Initial live-tunable settings (`tidemark backfill --rate N`); a 'tune' signal changes them later. */
  tuning?: { batchSize?: number; rowsPerSecond?: number };
}

/** planBackfill: what a sharded (or resumed) backfill runs. */
export interface BackfillPlan {
  /** false: no shard slots; run the unsharded path (`mode` resume or backfill). */
  sharded: boolean;
  /** Shards still to run (a resume skips finished ones). */
  todo: number[];
  /** Shards in the plan. */
  total: number;
  /** Why fewer shards than asked for, when so. */
  note?: string;
}

/** A shard's progress, for the workflow's `shards` query. */
export interface ShardView {
  index: number;
  status: 'pending' | 'running' | 'done' | 'failed';
  rows?: number;
  cursor?: Cursor;
}

export interface RunResult {
  cursor: Cursor;
  /** Rows committed by this run (all attempts). */
  rows: number;
  /** false when the run stopped early (time budget, busy integration): the next run continues. */
  done: boolean;
  /** Why a run stopped early, when it did. */
  stoppedBy?: 'time-budget' | 'busy';
  /** The run's warnings (its row's), for `--wait` and the workflow's result in the UI. */
  warnings?: string[];
  /** Records this run left in dead letters (refused by validation or the target), when any. */
  rejected?: number;
}

/** Heartbeat details: what a retry resumes from, and what the UI / `tidemark status` show. */
export interface Progress {
  integration: string;
  slot: string;
  cursor: Cursor;
  rows: number;
  pages: number;
  /** rows per second over this attempt */
  rate: number;
  /** rows left when the run started, minus rows done since (undefined when the source cannot tell) */
  remaining?: number;
  total?: number;
  etaSeconds?: number;
  attempt: number;
  updatedAt: string;
  /** Current page size (changes when the run is retuned). */
  batchSize?: number;
  /** Before its first page: the run waits for these transactions writing its source table to end (writersWait). */
  waitingForWriters?: WritersWait & { since: string };
}
