import { waitFor } from '../../util/wait-for';

/**
 * One limiter per API origin in the worker process: every source and sink calling the same origin (several
 * integrations, a retried attempt still running) shares its request budget; the slowest configured rate of those
 * currently open wins. A 429's Retry-After holds back the callers of the integration that got it (its shards, its
 * source and sink), not every caller of the origin: APIs count limits per account or token, and an acceptance run
 * saw one throttled tenant slow 30 others on the same host from 0.3 to 14 s, silently. An API that limits the whole
 * host answers each integration's next request with its own 429, which then holds that one back too.
 */
export class OriginLimiter {
  private nextSlot = 0;
  /** caller (integration id) → until when the API asked it to wait */
  private readonly blocked = new Map<string, number>();
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

  private blockedUntil(caller: string): number {
    return this.blocked.get(caller) ?? 0;
  }

  /** Waits for `caller`'s turn (heartbeating via onIdle while it waits). */
  async acquire(caller: string, signal?: AbortSignal, onIdle?: () => void): Promise<void> {
    for (;;) {
      const now = Date.now();
      if (this.blockedUntil(caller) > now) {
        await waitFor(this.blockedUntil(caller) - now, signal, onIdle);
        continue;
      }
      const slot = Math.max(now, this.nextSlot);
      this.nextSlot = slot + this.intervalMs;
      if (slot > now) await waitFor(slot - now, signal, onIdle);
      if (this.blockedUntil(caller) <= Date.now()) return;
    }
  }

  /** The server asked `caller` to wait (429 with Retry-After). */
  blockFor(caller: string, ms: number): void {
    const now = Date.now();
    for (const [c, until] of this.blocked) if (until <= now) this.blocked.delete(c);
    this.blocked.set(caller, Math.max(this.blockedUntil(caller), now + ms));
  }
}

/** An origin's limiter as one caller uses it: its turns come from the origin's budget, its holds are its own. */
export interface CallerLimiter {
  acquire(signal?: AbortSignal, onIdle?: () => void): Promise<void>;
  blockFor(ms: number): void;
}

const limiters = new Map<string, OriginLimiter>();

export interface LimiterLease {
  limiter: CallerLimiter;
  release(): void;
}

/** The shared limiter of `origin` for `caller` (an integration or instance id), with this source's rate counted until release(). */
export function leaseLimiter(origin: string, requestsPerSecond: number | undefined, caller: string): LimiterLease {
  let limiter = limiters.get(origin);
  if (!limiter) limiters.set(origin, (limiter = new OriginLimiter()));
  const id = Symbol(origin);
  limiter.addRate(id, requestsPerSecond);
  const l = limiter;
  return {
    limiter: {
      acquire: (signal, onIdle) => l.acquire(caller, signal, onIdle),
      blockFor: (ms) => l.blockFor(caller, ms),
    },
    release: () => {
      l.removeRate(id);
      if (!l.users && limiters.get(origin) === l) limiters.delete(origin);
    },
  };
}
