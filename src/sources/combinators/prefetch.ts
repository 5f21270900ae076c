/**
 * Reads one page ahead: while the caller writes page N (sink connection), page N+1 is already being
 * read (source connection). At most one page is held in addition to the one being written.
 */
export async function* prefetch<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
  const it = pages[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      next.catch(() => undefined); // surfaced when awaited on the next turn, not as an unhandled rejection
      yield r.value;
    }
  } finally {
    // Stopping early (budget, cancel): let the read in flight settle, then close the source's iterator.
    await next.catch(() => undefined);
    await it.return?.();
  }
}
