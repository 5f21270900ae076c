/** Heartbeat cadence while waiting: well inside the activity's 30 s heartbeat timeout. */
export const IDLE_TICK_MS = 2_000;

/**
 * The error to throw when the run's signal aborts. A worker shutdown becomes a plain (retryable) error
 * so the attempt fails and another worker resumes from the checkpoint; a real cancellation keeps the
 * SDK's CancelledFailure (the signal's reason), which the activity reports as cancelled.
 * The SDK documents the shutdown reason as a CancelledFailure with the message 'WORKER_SHUTDOWN'.
 */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.message === 'WORKER_SHUTDOWN') {
    return new Error('worker shutting down: the request in flight was aborted; the next attempt resumes from the checkpoint');
  }
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}

/**
 * Sleeps `ms`, calling onIdle every couple of seconds (the activity heartbeats from it) and throwing
 * at once when the signal aborts.
 */
export async function waitFor(ms: number, signal?: AbortSignal, onIdle?: () => void): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    const left = until - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(left, IDLE_TICK_MS), signal);
    onIdle?.();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
