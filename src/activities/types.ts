import type { Cursor } from '../cursor/cursor';

/** Shared with workflows (types only: workflow code must not import runtime modules). */
export type RunMode = 'sync' | 'backfill' | 'resume';

export interface RunInput {
  integration: string;
  mode: RunMode;
  /** Backfill: start after this cursor instead of the beginning. */
  from?: Cursor;
  /** Sync: the previous run's result cursor (workflowInfo().lastResult); the later of it and the checkpoint wins. */
  after?: Cursor;
  /** Identity of the workflow run: owns the checkpoint slot and names the tidemark.runs row. */
  runKey: string;
}

export interface RunResult {
  cursor: Cursor;
  /** Rows committed by this run (all attempts). */
  rows: number;
  /** false when the run stopped early (time budget, busy integration): the next run continues. */
  done: boolean;
  /** Why a run stopped early, when it did. */
  stoppedBy?: 'time-budget' | 'busy';
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
}
