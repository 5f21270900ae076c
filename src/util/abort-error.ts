/**
 * The error to throw when the run's signal aborts. A worker shutdown becomes a plain (retryable) error
 * so the attempt fails and another worker resumes from the checkpoint; a real cancellation keeps the
 * SDK's CancelledFailure (the signal's reason), which the activity reports as cancelled.
 * The SDK documents the shutdown reason as a CancelledFailure with the message 'WORKER_SHUTDOWN'.
 */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (isShutdown(reason)) {
    return new Error('worker shutting down: the request in flight was aborted; the next attempt resumes from the checkpoint');
  }
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}

const derived = new WeakMap<AbortSignal, AbortSignal>();

function isShutdown(reason: unknown): boolean {
  return reason instanceof Error && reason.message === 'WORKER_SHUTDOWN';
}

/**
 * `signal` without its worker-shutdown abort: for a page being delivered, which a graceful shutdown lets finish
 * and commit (SIGTERM commits the page in flight whole, as the contract says); aborting it sent its records
 * again on the next attempt (an acceptance run: 88 re-sent). A cancellation still aborts it at once.
 */
export function ignoringShutdown(signal: AbortSignal): AbortSignal {
  // One per signal (a run's), not one listener per page.
  const known = derived.get(signal);
  if (known) return known;
  const out = new AbortController();
  derived.set(signal, out.signal);
  const follow = () => {
    if (!isShutdown(signal.reason)) out.abort(signal.reason);
  };
  if (signal.aborted) follow();
  else signal.addEventListener('abort', follow, { once: true });
  return out.signal;
}
