import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { connectLike } from '../pg/connect';

/** What a page sent ahead runs with: its connection, and its script's first statement and the one before its checkpoint. */
export interface AheadSlot {
  on: pg.Client;
  /** Takes the page's own lock (held to its end), first thing. */
  start: string;
  /** Waits for the page transaction before it to end (empty for the first), just before the checkpoint. */
  wait: string;
}

/**
 * The PostgreSQL sink's two connections for pages sent ahead (PostgresSink.sendAhead): its own and a second one
 * like it (same URL, application name and settings), opened on first use and closed with the run. A page sent
 * ahead goes on the one the page before it is not using. Every page transaction holds an advisory lock of its
 * own from its start (class: random per sink, key: its number); a page sent ahead waits for the lock of the
 * transaction before it just before its checkpoint statement, so that statement sees that page's commit (or
 * its rollback: its fence then fails) instead of racing it.
 */
export class PageLanes {
  private lane: pg.Client | false = false;
  private opening: Promise<void> | undefined;
  private closed = false;
  /** The connection the last page went on. */
  private lastOn: pg.Client | undefined;
  private readonly lockClass = randomInt(1, 0x7fffffff);
  private seq = 0;
  /** The number of the last page transaction begun, while pages go ahead. */
  private last: number | undefined;

  constructor(private readonly client: pg.Client) {}

  /** Opens the second connection, once; false when there is none (a client not made by connect(), or it failed: pages go one at a time). */
  async open(): Promise<boolean> {
    await (this.opening ??= this.connect());
    return !!this.lane;
  }

  /** A page transaction on the sink's own connection: `BEGIN; ` and, once pages go ahead, its lock. */
  begin(): string {
    this.lastOn = this.client;
    return this.lane ? `BEGIN; ${this.lock('pg_advisory_xact_lock', (this.last = ++this.seq))}` : 'BEGIN; ';
  }

  /** Where the next page sent ahead goes, and its locks; undefined until the second connection is open (this asks for it). */
  ahead(): AheadSlot | undefined {
    void this.open();
    if (!this.lane) return undefined;
    const on = this.lastOn === this.lane ? this.client : this.lane;
    this.lastOn = on;
    const before = this.last;
    const start = this.lock('pg_advisory_xact_lock', (this.last = ++this.seq));
    return { on, start, wait: before === undefined ? '' : this.lock('pg_advisory_xact_lock_shared', before) };
  }

  /** A page sent ahead on `on` failed with `err`: a broken second connection takes no more pages. */
  failed(on: pg.Client, err: unknown): void {
    if (on === this.lane && (err as { code?: unknown }).code === undefined) this.closeLane();
  }

  close(): void {
    this.closed = true;
    this.closeLane();
  }

  private lock(fn: 'pg_advisory_xact_lock' | 'pg_advisory_xact_lock_shared', n: number): string {
    return `SELECT ${fn}(${this.lockClass}, ${n & 0x7fffffff}); `;
  }

  private async connect(): Promise<void> {
    try {
      const lane = await connectLike(this.client);
      if (lane && !this.closed) this.lane = lane;
      else if (lane) await lane.end().catch(() => undefined);
    } catch {
      // Pages simply go one at a time on the one connection.
    }
  }

  private closeLane(): void {
    const lane = this.lane;
    this.lane = false;
    if (lane) void lane.end().catch(() => undefined);
  }
}
