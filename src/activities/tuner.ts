import type pg from 'pg';
import { readTuning, type Tuning } from '../db/state';
import type { RateLimit } from '../sources/combinators/throttle';

const POLL_MS = 1_000;

/**
 * Applies live tuning to a running activity: the workflow's 'tune' signal writes tidemark.tuning, and
 * this reads it between batches (at most once a second). The read options and the throttle's limit are
 * mutable objects the source reads at each page, so a new batch size or rate applies from the next page.
 */
export class Tuner {
  private lastPoll = 0;

  constructor(
    private readonly db: pg.Client,
    private readonly runKey: string,
    private readonly readOpts: { limit: number },
    private readonly rate: RateLimit,
    /** Shards share a run's rate: each gets its part. */
    private readonly share = 1,
  ) {}

  /** Initial values (config rateLimit, then the workflow input's `--rate` / batchSize); undefined keeps the current one. */
  apply(t: Tuning | undefined): void {
    if (t?.batchSize !== undefined) this.readOpts.limit = t.batchSize;
    if (t?.rowsPerSecond !== undefined) this.rate.rowsPerSecond = t.rowsPerSecond / this.share;
  }

  async poll(): Promise<void> {
    if (Date.now() - this.lastPoll < POLL_MS) return;
    this.lastPoll = Date.now();
    this.apply(await readTuning(this.db, this.runKey));
  }
}
