import type { Rng } from './rng';

/** What can go wrong with a request, as real APIs do it. */
export type Fault = 'error' | 'throttle' | 'hang' | 'drop' | 'truncate';

export interface FaultOptions {
  /** fraction of requests answered 500/502/503 */
  failRate: number;
  /** fraction answered 429 with Retry-After, whatever the request rate */
  throttleRate: number;
  /** fraction never answered (the client must time out) */
  hangRate: number;
  /** fraction whose connection is closed without an answer */
  dropRate: number;
  /** fraction answered 200 with half a JSON body */
  truncateRate: number;
  /** requests per second served; above it, 429 with Retry-After until the next second */
  rateLimit?: number;
  /** Retry-After of injected 429s, in seconds */
  retryAfter: number;
}

export const NO_FAULTS: FaultOptions = { failRate: 0, throttleRate: 0, hangRate: 0, dropRate: 0, truncateRate: 0, retryAfter: 1 };

export type Decision = { fault: Fault } | { fault: 'rate-limited'; retryAfterSeconds: number } | undefined;

/** Decides each request's fault: queued ones first (deterministic tests), then the rate limit, then chance. */
export class FaultInjector {
  private readonly queue: Fault[] = [];
  private windowSecond = 0;
  private windowCount = 0;

  constructor(
    public options: FaultOptions,
    private readonly rng: Rng,
  ) {}

  enqueue(faults: Fault[]): void {
    this.queue.push(...faults);
  }

  decide(now = Date.now()): Decision {
    const queued = this.queue.shift();
    if (queued) return { fault: queued };
    const o = this.options;
    if (o.rateLimit) {
      const second = Math.floor(now / 1000);
      if (second !== this.windowSecond) {
        this.windowSecond = second;
        this.windowCount = 0;
      }
      if (++this.windowCount > o.rateLimit) return { fault: 'rate-limited', retryAfterSeconds: 1 };
    }
    let r = this.rng();
    for (const [fault, rate] of [
      ['error', o.failRate],
      ['throttle', o.throttleRate],
      ['hang', o.hangRate],
      ['drop', o.dropRate],
      ['truncate', o.truncateRate],
    ] as const) {
      if (r < rate) return { fault };
      r -= rate;
    }
    return undefined;
  }
}
