import { backoffMs, parseRetryAfter } from './backoff';
import { HttpRetriesExhaustedError, HttpSourceError, HttpStatusError } from './http-errors';
import type { OriginLimiter } from './rate-limiter';
import { safeUrl } from './redact';
import { abortError, IDLE_TICK_MS, waitFor } from './wait';

export interface HttpClientOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  /** attempts after the first */
  retries: number;
  backoff: { initialMs: number; maxMs: number };
  limiter: OriginLimiter;
  redact: (text: string) => string;
}

export interface RequestOptions {
  signal?: AbortSignal;
  onIdle?: () => void;
}

export interface HttpClientStats {
  requests: number;
  retries: number;
}

/** Statuses worth another try: the server is busy, overloaded, restarting or timed out. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * GET → parsed JSON, resilient to what real APIs do: a shared per-origin rate limit, a timeout per
 * request (headers and body), retries with exponential backoff and jitter on 429 / 5xx / timeouts /
 * connection resets / truncated or invalid JSON, Retry-After honoured, and cancellation that aborts the
 * request in flight at once. Other 4xx fail at once (HttpStatusError, non-retryable); retries used up
 * throw HttpRetriesExhaustedError, which the activity retries from its checkpoint.
 */
export class HttpClient {
  readonly stats: HttpClientStats = { requests: 0, retries: 0 };

  constructor(private readonly o: HttpClientOptions) {}

  async getJson(url: URL, opts: RequestOptions = {}): Promise<unknown> {
    const shown = safeUrl(url, this.o.redact);
    for (let attempt = 0; ; attempt++) {
      await this.o.limiter.acquire(opts.signal, opts.onIdle);
      const outcome = await this.attempt(url, shown, opts);
      if (outcome.ok) return outcome.body;
      if (attempt >= this.o.retries) throw new HttpRetriesExhaustedError(shown, attempt + 1, outcome.reason);
      this.stats.retries++;
      if (outcome.retryAfterMs !== undefined) this.o.limiter.blockFor(outcome.retryAfterMs);
      await waitFor(outcome.retryAfterMs ?? backoffMs(attempt, this.o.backoff.initialMs, this.o.backoff.maxMs), opts.signal, opts.onIdle);
    }
  }

  private async attempt(url: URL, shown: string, opts: RequestOptions): Promise<{ ok: true; body: unknown } | { ok: false; reason: string; retryAfterMs?: number }> {
    this.stats.requests++;
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    // A slow response is still a wait: keep the activity heartbeating until it ends or times out.
    const ticker = opts.onIdle ? setInterval(opts.onIdle, IDLE_TICK_MS) : undefined;
    try {
      const res = await fetch(url, { headers: { accept: 'application/json', ...this.o.headers }, signal });
      const text = await res.text(); // the same signal bounds the body: a stalled body times out too
      if (res.ok) {
        const type = res.headers.get('content-type') ?? '';
        // A web page instead of JSON is a wrong URL, not a glitch: retrying cannot fix it.
        if (/^text\/html/i.test(type)) throw new HttpSourceError('url', `the response is ${type.split(';')[0]}, not JSON: is this the API's list endpoint?`, shown);
        try {
          return { ok: true, body: JSON.parse(text) as unknown };
        } catch {
          return { ok: false, reason: `invalid or truncated JSON body (${text.length} bytes, ends ${JSON.stringify(text.slice(-20))})` };
        }
      }
      if (!retryableStatus(res.status)) throw new HttpStatusError(res.status, shown, this.o.redact(text.slice(0, 300).trim()));
      return { ok: false, reason: `${res.status} ${res.statusText}`, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
    } catch (err) {
      if (err instanceof HttpStatusError || err instanceof HttpSourceError) throw err;
      if (opts.signal?.aborted) throw abortError(opts.signal);
      if (timeout.aborted) return { ok: false, reason: `no complete response within ${this.o.timeoutMs}ms (timeout)` };
      return { ok: false, reason: this.o.redact(networkReason(err)) };
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }
}

/** undici reports resets and refusals as TypeError('fetch failed' | 'terminated') with the cause inside. */
function networkReason(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause ? ` (${[e.cause.code, e.cause.message].filter(Boolean).join(': ')})` : '';
  return `${e.message ?? String(err)}${cause}`;
}
