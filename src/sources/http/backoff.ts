/**
 * Exponential backoff with jitter: attempt n waits a random time in [d/2, d], d = initial × 2^n capped
 * at max. The random half spreads retries of many workers apart (no thundering herd after an outage).
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return d / 2 + random() * (d / 2);
}

/** Longest Retry-After honoured; a server asking for more gets the run retried from its checkpoint instead. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  // An HTTP date has whole seconds: a date already reached still means "not before now".
  return Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}
