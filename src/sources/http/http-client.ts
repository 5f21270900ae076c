import type { HttpResponsePolicy } from '../../config/http-response-schema';
import type { HttpAuth } from './auth';
import { CredentialsRefusedError } from './auth';
import { backoffMs } from './backoff';
import { fetchFollowing } from './follow-redirects';
import { HttpRetriesExhaustedError, HttpSourceError, HttpStatusError } from './http-errors';
import type { CallerLimiter } from './rate-limiter';
import { safeUrl } from './redact';
import { judge } from './response-policy';
import { abortError } from '../../util/abort-error';
import { IDLE_TICK_MS, waitFor } from '../../util/wait-for';
import { yieldToIo } from '../../util/yield-to-io';
import { rawRecords } from './raw/raw-records';

const utf8 = new TextDecoder();

export interface HttpClientOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  /** attempts after the first */
  retries: number;
  backoff: { initialMs: number; maxMs: number };
  limiter: CallerLimiter;
  redact: (text: string) => string;
  /** what each non-2xx status means (config `responses`) */
  policy: HttpResponsePolicy;
  /** the credential (config `auth`): applied to every attempt, refreshed once on a 401 */
  auth?: HttpAuth;
  /** told before each wait for a retry (the worker's log: a run slowed by an API is not silent) */
  onRetry?: (r: RetryNotice) => void;
}

export interface RetryNotice {
  url: string;
  reason: string;
  waitMs: number;
  /** the retry this wait is for (1 = the first), of `retries` */
  retry: number;
  retries: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  onIdle?: () => void;
}

/** One request: the URL (with every query parameter), and for POST a JSON body; headers add to the source's. */
export interface HttpRequest {
  url: URL;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** JSON text (sent with content-type application/json) */
  body?: string;
  /**
   * The records' path (config `records`), when the caller reads them as bytes (raw/raw-records.ts): the
   * answer's records are then lazy records whenever the bytes allow it, else parsed as usual.
   */
  rawRecords?: string;
}

export interface HttpResponse {
  body: unknown;
  headers: Headers;
  /** the status is one the policy skips: no body, read as an empty page */
  skipped?: number;
  /** where the answer came from after redirects (the base of its relative links), without the credentials auth added */
  url?: URL;
}

export interface HttpClientStats {
  requests: number;
  retries: number;
  /** answers the policy read as "rate limited" */
  rateLimited: number;
  /** answers the policy skipped */
  skipped: number;
  /** time spent waiting before retries (backoff and the API's own waits) */
  waitedMs: number;
}

/**
 * GET → parsed JSON, resilient to what real APIs do: a shared per-origin rate limit, a timeout per
 * request (headers and body), retries with exponential backoff and jitter on 429 / 5xx / timeouts /
 * connection resets / truncated or invalid JSON, Retry-After honoured, and cancellation that aborts the
 * request in flight at once. Other 4xx fail at once (HttpStatusError, non-retryable); retries used up
 * throw HttpRetriesExhaustedError, which the activity retries from its checkpoint.
 */
export class HttpClient {
  readonly stats: HttpClientStats = { requests: 0, retries: 0, rateLimited: 0, skipped: 0, waitedMs: 0 };

  constructor(private readonly o: HttpClientOptions) {}

  async getJson(url: URL, opts: RequestOptions = {}): Promise<unknown> {
    return (await this.send({ url }, opts)).body;
  }

  async send(req: HttpRequest, opts: RequestOptions = {}): Promise<HttpResponse> {
    const shown = safeUrl(req.url, this.o.redact);
    let reauthorized = false;
    for (let attempt = 0; ; attempt++) {
      await this.o.limiter.acquire(opts.signal, opts.onIdle);
      const outcome = await this.attempt(req, shown, opts);
      if (outcome.ok) return { body: outcome.body, headers: outcome.headers, ...(outcome.skipped ? { skipped: outcome.skipped } : {}), ...(outcome.url ? { url: outcome.url } : {}) };
      if (outcome.unauthorized) {
        // One fresh credential per request (an expired or revoked OAuth token); it does not count as a retry.
        const auth = this.o.auth as HttpAuth;
        if (!reauthorized && (await auth.onUnauthorized())) {
          reauthorized = true;
          attempt--;
          continue;
        }
        throw new CredentialsRefusedError(shown, auth.type, req.method ?? 'GET');
      }
      if (attempt >= this.o.retries) throw new HttpRetriesExhaustedError(shown, attempt + 1, outcome.reason, req.method ?? 'GET');
      this.stats.retries++;
      if (outcome.retryAfterMs !== undefined) this.o.limiter.blockFor(outcome.retryAfterMs);
      const waitMs = outcome.retryAfterMs ?? backoffMs(attempt, this.o.backoff.initialMs, this.o.backoff.maxMs);
      this.stats.waitedMs += waitMs;
      this.o.onRetry?.({ url: shown, reason: outcome.reason, waitMs, retry: attempt + 1, retries: this.o.retries });
      await waitFor(waitMs, opts.signal, opts.onIdle);
    }
  }

  /** The one place a request's headers are built (auth adds its header here). */
  private headersFor(req: HttpRequest): Record<string, string> {
    return { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...this.o.headers, ...req.headers };
  }

  private async attempt(
    req: HttpRequest,
    shown: string,
    opts: RequestOptions,
  ): Promise<{ ok: true; body: unknown; headers: Headers; skipped?: number; url?: URL } | { ok: false; reason: string; retryAfterMs?: number; unauthorized?: boolean }> {
    this.stats.requests++;
    // The credential goes onto a copy: an api_key in the query never reaches cursors, next links or messages.
    // Outside the try: its errors (config, a refused or unavailable token endpoint) are not network glitches.
    const target = new URL(req.url);
    const headers = this.headersFor(req);
    await this.o.auth?.apply({ url: target, headers }, opts.signal);
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    // A slow response is still a wait: keep the activity heartbeating until it ends or times out.
    const ticker = opts.onIdle ? setInterval(opts.onIdle, IDLE_TICK_MS) : undefined;
    try {
      const { res, foreign, url: answered } = await fetchFollowing({ url: target, method: req.method ?? 'GET', headers, ...(req.body !== undefined ? { body: req.body } : {}), signal, redact: this.o.redact }, async (url, h) => {
        await this.o.auth?.apply({ url, headers: h }, opts.signal);
      });
      // The same signal bounds the body: a stalled body times out too. Decoded as res.text() does (BOM, U+FFFD).
      const bytes = Buffer.from(await res.arrayBuffer());
      const moved = answered.href === target.href ? {} : { url: withoutAddedSecrets(answered, target, req.url, this.o.redact) };
      if (res.ok) {
        const type = res.headers.get('content-type') ?? '';
        // A web page instead of JSON is a wrong URL, not a glitch: retrying cannot fix it.
        if (/^text\/html/i.test(type)) throw new HttpSourceError('url', `the response is ${type.split(';')[0]}, not JSON: is this the API's list endpoint?`, shown);
        const fast = req.rawRecords === undefined ? undefined : rawRecords(bytes, req.rawRecords);
        if (fast) return { ok: true, body: fast.body, headers: res.headers, ...moved };
        const text = utf8.decode(bytes);
        await yieldToIo(); // the body's decoding and its parse are each a block of CPU: I/O runs between (see yieldToIo)
        try {
          return { ok: true, body: JSON.parse(text) as unknown, headers: res.headers, ...moved };
        } catch {
          return { ok: false, reason: `invalid or truncated JSON body (${text.length} bytes, ends ${JSON.stringify(text.slice(-20))})` };
        }
      }
      // A 401 with a configured credential: send() refreshes it once (OAuth2) or fails naming source.auth.
      // (Not from another origin a redirect led to: no credential went there, a fresh one cannot help.)
      if (res.status === 401 && !foreign && this.o.auth && this.o.auth.type !== 'none') return { ok: false, reason: '401 Unauthorized', unauthorized: true };
      const text = utf8.decode(bytes);
      const verdict = judge(this.o.policy, res.status, res.headers);
      switch (verdict.kind) {
        case 'fail':
          throw new HttpStatusError(res.status, shown, this.o.redact(text.slice(0, 300).trim()), req.method ?? 'GET');
        case 'skip':
          this.stats.skipped++;
          return { ok: true, body: undefined, headers: res.headers, skipped: res.status, ...moved };
        case 'rate_limited':
          this.stats.rateLimited++;
          return { ok: false, reason: `${res.status} ${res.statusText} (rate limited)`, retryAfterMs: verdict.waitMs };
        default: // retry
          return { ok: false, reason: `${res.status} ${res.statusText}`, retryAfterMs: verdict.waitMs };
      }
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

/**
 * A redirect's target without the query credentials auth put on the request: parameters auth added (in `sent`, not in
 * the URL asked) by name, and any other whose value is a secret the URL asked did not hold.
 */
function withoutAddedSecrets(url: URL, sent: URL, asked: URL, redact: (text: string) => string): URL {
  const u = new URL(url);
  for (const [k, v] of [...u.searchParams]) {
    const added = sent.searchParams.has(k) && !asked.searchParams.has(k);
    if (added || (redact(v) !== v && asked.searchParams.get(k) !== v)) u.searchParams.delete(k);
  }
  return u;
}

/** undici reports resets and refusals as TypeError('fetch failed' | 'terminated') with the cause inside. */
function networkReason(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause ? ` (${[e.cause.code, e.cause.message].filter(Boolean).join(': ')})` : '';
  return `${e.message ?? String(err)}${cause}`;
}
