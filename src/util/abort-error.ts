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
