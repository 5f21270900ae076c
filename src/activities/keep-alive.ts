import type { Context } from '@temporalio/activity';

const MAX_INTERVAL_MS = 5_000;
const MIN_INTERVAL_MS = 100;

/** How often to heartbeat while a statement runs: a few times per heartbeat timeout, at most every 5 s. */
export function keepAliveInterval(heartbeatTimeoutMs: number | undefined): number {
  return Math.max(MIN_INTERVAL_MS, Math.min(MAX_INTERVAL_MS, Math.floor((heartbeatTimeoutMs ?? 30_000) / 3)));
}

/**
 * Heartbeats on a timer while a page's statements run (source read, COPY, upsert, commit), so the
 * heartbeat timeout measures a dead worker, not a slow page. The details are whatever `details`
 * returns: the last committed cursor and progress, never a cursor that is not committed yet.
 * Between pages (e.g. an embedding hook) nothing beats, so a worker stuck there is still noticed.
 */
export class KeepAlive {
  private readonly interval: number;

  constructor(
    private readonly ctx: Context,
    public details: () => unknown,
  ) {
    this.interval = keepAliveInterval(ctx.info.heartbeatTimeoutMs);
  }

  async during<T>(fn: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => this.ctx.heartbeat(this.details()), this.interval);
    try {
      return await fn();
    } finally {
      clearInterval(timer);
    }
  }
}
