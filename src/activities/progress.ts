import type { Cursor } from '../cursor/cursor';
import type { Progress } from './types';

/** Tracks rows and rate for heartbeats; the rate is over this attempt so a resume doesn't inflate it. */
export class ProgressMeter {
  private readonly started = Date.now();
  private attemptRows = 0;
  rows = 0;
  pages = 0;

  constructor(
    private readonly base: { integration: string; slot: string; attempt: number },
    /** rows left after the start cursor when this attempt began */
    private readonly remainingAtStart?: number,
    private readonly initialRows = 0,
  ) {
    this.rows = initialRows;
  }

  add(rows: number): void {
    this.rows += rows;
    this.attemptRows += rows;
    this.pages += 1;
  }

  snapshot(cursor: Cursor): Progress {
    const secs = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = Math.round(this.attemptRows / secs);
    const remaining = this.remainingAtStart === undefined ? undefined : Math.max(this.remainingAtStart - this.attemptRows, 0);
    return {
      ...this.base,
      cursor,
      rows: this.rows,
      pages: this.pages,
      rate,
      total: this.remainingAtStart === undefined ? undefined : this.initialRows + this.remainingAtStart,
      remaining,
      etaSeconds: remaining !== undefined && rate > 0 ? Math.round(remaining / rate) : undefined,
      updatedAt: new Date().toISOString(),
    };
  }
}
