import type { HttpResponsePolicy } from '../../config/http-response-schema';
import type { HttpAuth } from '../../sources/http/auth';
import { backoffMs } from '../../sources/http/backoff';
import type { CallerLimiter } from '../../sources/http/rate-limiter';
import { safeUrl } from '../../sources/http/redact';
import { judge } from '../../sources/http/response-policy';
import { abortError } from '../../util/abort-error';
import { IDLE_TICK_MS, waitFor } from '../../util/wait-for';
import { send, TransportTimeoutError } from './http-transport';
import { DeliveryCredentialsError, DeliveryRetriesExhaustedError, DeliveryStatusError } from './http-sink-errors';
import { warnInActivity } from '../../util/activity-log';

export interface DeliveryClientOptions {
  headers: Record<string, string>;
  idempotencyHeader: string;
  timeoutMs: number;
  /** attempts after the first */
  retries: number;
  backoff: { initialMs: number; maxMs: number };
  limiter: CallerLimiter;
  /** masks every secret (config ${NAME} values, the auth's credentials) */
  redact: (text: string) => string;
  policy: HttpResponsePolicy;
  deadLetterStatuses: readonly number[];
  auth: HttpAuth;
}

export interface DeliveryRequest {
  method: string;
  url: URL;
  /** JSON text, or undefined for no body */
  body?: string;
  idempotencyKey: string;
  /** statuses besides 2xx that count as accepted (a DELETE's 404 / 410) */
  accept?: readonly number[];
  /** return the accepted answer's body (sink.bulk.results reads it) */
  wantBody?: boolean;
}

/** The API accepted the request, or refused it with one of sink.deadLetterStatuses (body masked, cut to 2000 characters). */
export type DeliveryOutcome = { ok: true; status: number; body?: string } | { ok: false; status: number; body: string };

export interface DeliveryStats {
  requests: number;
  retries: number;
  rateLimited: number;
}

const MAX_BODY = 2000;

/**
 * Sends one request until it gets an answer that decides it: 2xx (accepted), a dead-letter status
 * (refused), or another status that fails the page. 429 / 5xx / timeouts / resets are retried with
 * jittered backoff, Retry-After honoured (and shared with every caller of the origin through its
 * limiter); every attempt carries the same idempotency key, so an API that honours it applies the
 * request once however often it arrives.
 */
export class DeliveryClient {
  readonly stats: DeliveryStats = { requests: 0, retries: 0, rateLimited: 0 };

  constructor(private readonly o: DeliveryClientOptions) {}

  /** attempts after the first (sink.retries): also the rounds of re-sending a bulk answer's retryable items */
  get retries(): number {
    return this.o.retries;
  }

  get deadLetterStatuses(): readonly number[] {
    return this.o.deadLetterStatuses;
  }

  redact(text: string): string {
    return this.o.redact(text);
  }

  /** The jittered backoff before retry `attempt` (0-based), heartbeating while it waits. */
  async pause(attempt: number, opts: { signal?: AbortSignal; onIdle?: () => void } = {}, why = 'items to send again'): Promise<void> {
    this.stats.retries++;
    const waitMs = backoffMs(attempt, this.o.backoff.initialMs, this.o.backoff.maxMs);
    warnInActivity(`${why}; retry ${attempt + 1} of ${this.o.retries} in ${(waitMs / 1000).toFixed(1)} s`, {});
    await waitFor(waitMs, opts.signal, opts.onIdle);
  }

  async send(req: DeliveryRequest, opts: { signal?: AbortSignal; onIdle?: () => void } = {}): Promise<DeliveryOutcome> {
    const shown = safeUrl(req.url, this.o.redact);
    let reauthorized = false;
    for (let attempt = 0; ; attempt++) {
      await this.o.limiter.acquire(opts.signal, opts.onIdle);
      const r = await this.attempt(req, opts);
      if (r.kind === 'done') return r.outcome;
      if (r.kind === 'unauthorized') {
        if (!reauthorized && (await this.o.auth.onUnauthorized())) {
          reauthorized = true; // one fresh credential per request (an expired OAuth token); not a retry
          attempt--;
          continue;
        }
        throw new DeliveryCredentialsError(401, `${req.method} ${shown}`);
      }
      if (r.kind === 'fail') throw new DeliveryStatusError(r.status, req.method, shown, r.body);
      if (attempt >= this.o.retries) throw new DeliveryRetriesExhaustedError(req.method, shown, attempt + 1, r.reason);
      this.stats.retries++;
      if (r.waitMs !== undefined) this.o.limiter.blockFor(r.waitMs);
      const waitMs = r.waitMs ?? backoffMs(attempt, this.o.backoff.initialMs, this.o.backoff.maxMs);
      // In the worker's log: a delivery slowed by the API is not silent.
      warnInActivity(`${req.method} ${shown}: ${r.reason}; retry ${attempt + 1} of ${this.o.retries} in ${(waitMs / 1000).toFixed(1)} s`, {});
      await waitFor(waitMs, opts.signal, opts.onIdle);
    }
  }

  private async attempt(
    req: DeliveryRequest,
    opts: { signal?: AbortSignal; onIdle?: () => void },
  ): Promise<{ kind: 'done'; outcome: DeliveryOutcome } | { kind: 'retry'; reason: string; waitMs?: number } | { kind: 'unauthorized' } | { kind: 'fail'; status: number; body: string }> {
    this.stats.requests++;
    const target = new URL(req.url);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...this.o.headers,
      [this.o.idempotencyHeader]: req.idempotencyKey,
    };
    // Outside the try: credential errors (a refused token endpoint) are not network glitches.
    await this.o.auth.apply({ url: target, headers }, opts.signal);
    const ticker = opts.onIdle ? setInterval(opts.onIdle, IDLE_TICK_MS) : undefined;
    try {
      const res = await send(target, { method: req.method, headers, body: req.body, timeoutMs: this.o.timeoutMs, signal: opts.signal });
      const text = res.text;
      if ((res.status >= 200 && res.status < 300) || req.accept?.includes(res.status)) return { kind: 'done', outcome: req.wantBody ? { ok: true, status: res.status, body: text } : { ok: true, status: res.status } };
      if (res.status === 401 && this.o.auth.type !== 'none') return { kind: 'unauthorized' };
      const body = this.o.redact(text.slice(0, MAX_BODY).trim());
      if (this.o.deadLetterStatuses.includes(res.status)) return { kind: 'done', outcome: { ok: false, status: res.status, body } };
      const verdict = judge(this.o.policy, res.status, res.headers());
      if (verdict.kind === 'rate_limited') {
        this.stats.rateLimited++;
        return { kind: 'retry', reason: `${res.status} ${res.statusText} (rate limited)`, waitMs: verdict.waitMs };
      }
      if (verdict.kind === 'retry') return { kind: 'retry', reason: `${res.status} ${res.statusText}`, waitMs: verdict.waitMs };
      if (res.status === 401 || res.status === 403) throw new DeliveryCredentialsError(res.status, `${req.method} ${safeUrl(req.url, this.o.redact)}`);
      return { kind: 'fail', status: res.status, body: body.slice(0, 300) };
    } catch (err) {
      if (err instanceof DeliveryCredentialsError) throw err;
      if (opts.signal?.aborted) throw abortError(opts.signal);
      if (err instanceof TransportTimeoutError) return { kind: 'retry', reason: `no complete response within ${this.o.timeoutMs}ms (timeout)` };
      return { kind: 'retry', reason: this.o.redact(networkReason(err)) };
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }
}

/** node:http reports resets and refusals as errors with a code (ECONNRESET, ECONNREFUSED, …). */
function networkReason(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return `${e.message ?? String(err)}${e.code && !e.message?.includes(e.code) ? ` (${e.code})` : ''}`;
}
