import { waitFor } from '../../util/wait-for';

/**
 * One limiter per API origin in the worker process: every source calling the same origin (several
 * integrations, a retried attempt still running) shares its request budget. The slowest configured rate
 * of the sources currently open wins, and a 429's Retry-After holds back every caller of the origin.
 */
export class OriginLimiter {
  private nextSlot = 0;
  private blockedUntil = 0;
  private readonly rates = new Map<symbol, number>();

  get users(): number {
    return this.rates.size;
  }

  addRate(id: symbol, requestsPerSecond: number | undefined): void {
    this.rates.set(id, requestsPerSecond ?? Infinity);
  }

  removeRate(id: symbol): void {
    this.rates.delete(id);
  }

  private get intervalMs(): number {
    const rate = Math.min(...this.rates.values());
    return Number.isFinite(rate) ? 1000 / rate : 0;
  }

  /** Waits for this caller's turn (heartbeating via onIdle while it waits). */
  async acquire(signal?: AbortSignal, onIdle?: () => void): Promise<void> {
    for (;;) {
      const now = Date.now();
      if (this.blockedUntil > now) {
        await waitFor(this.blockedUntil - now, signal, onIdle);
        continue;
      }
      const slot = Math.max(now, this.nextSlot);
      this.nextSlot = slot + this.intervalMs;
      if (slot > now) await waitFor(slot - now, signal, onIdle);
      if (this.blockedUntil <= Date.now()) return;
    }
  }

  /** The server asked everyone to wait (429 with Retry-After). */
  blockFor(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, Date.now() + ms);
  }
}

const limiters = new Map<string, OriginLimiter>();

export interface LimiterLease {
  limiter: OriginLimiter;
  release(): void;
}

/** The shared limiter of `origin`, with this source's rate counted until release(). */
export function leaseLimiter(origin: string, requestsPerSecond: number | undefined): LimiterLease {
  let limiter = limiters.get(origin);
  if (!limiter) limiters.set(origin, (limiter = new OriginLimiter()));
  const id = Symbol(origin);
  limiter.addRate(id, requestsPerSecond);
  const l = limiter;
  return {
    limiter: l,
    release: () => {
      l.removeRate(id);
      if (!l.users && limiters.get(origin) === l) limiters.delete(origin);
    },
  };
}
