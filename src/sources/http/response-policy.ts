import type { HttpResponsePolicy } from '../../config/http-response-schema';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from './backoff';

/** What a non-2xx answer means for the request. */
export type Verdict =
  | { kind: 'retry'; waitMs?: number }
  | { kind: 'rate_limited'; waitMs?: number }
  | { kind: 'skip' }
  | { kind: 'fail' };

/** Statuses worth another try by default: the server is busy, overloaded, restarting or timed out. */
function defaultRetry(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * The source's response policy (config `responses`): rate-limit rules first (a 403 is a rate limit only
 * with its header, else it falls through to the other lists), then skip, then retry; anything else
 * fails. The wait of a rate limit (or of a retry that names one) comes from the first wait header present.
 */
export function judge(policy: HttpResponsePolicy, status: number, headers: Headers, now = Date.now()): Verdict {
  const limited = policy.rateLimited.some((r) => r.status === status && (r.header === undefined || (r.equals === undefined ? (headers.get(r.header)?.trim() ?? '') !== '' : headers.get(r.header)?.trim() === r.equals)));
  if (limited) return { kind: 'rate_limited', waitMs: waitOf(policy, headers, now) };
  if (policy.skip.includes(status)) return { kind: 'skip' };
  if (policy.retry ? policy.retry.includes(status) : defaultRetry(status)) return { kind: 'retry', waitMs: waitOf(policy, headers, now) };
  return { kind: 'fail' };
}

/** The first wait header present and readable, in ms from now (at most MAX_RETRY_AFTER_MS); undefined: back off. */
export function waitOf(policy: Pick<HttpResponsePolicy, 'wait'>, headers: Headers, now = Date.now()): number | undefined {
  for (const w of policy.wait) {
    const value = headers.get(w.header)?.trim();
    if (!value) continue;
    const ms = waitMs(value, w.format, now);
    if (ms !== undefined) return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
  }
  return undefined;
}

function waitMs(value: string, format: HttpResponsePolicy['wait'][number]['format'], now: number): number | undefined {
  if (format === 'retry-after') return parseRetryAfter(value, now);
  if (!/^\d+(\.\d+)?$/.test(value)) return undefined;
  const n = Number(value);
  switch (format) {
    case 'seconds':
      return n * 1000;
    case 'epoch_seconds':
      return n * 1000 - now;
    case 'epoch_ms':
      return n - now;
  }
}
