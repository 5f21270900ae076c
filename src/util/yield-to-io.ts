/**
 * Resolves after the event loop has polled for I/O once (setImmediate runs after the poll phase). Long CPU
 * work in the worker's one thread holds up every socket: a page's COPY data waiting to leave cannot, so
 * PostgreSQL waits for the source instead of working beside it. Yielding between blocks of a few
 * milliseconds lets them overlap (issue 13).
 */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
