/**
 * Reads one page ahead: while the caller writes page N (sink connection), page N+1 is already being
 * read (source connection). At most one page is held in addition to the one being written.
 */
export async function* prefetch<T>(pages: AsyncIterable<T>, seen: { ended: boolean } = { ended: false }): AsyncGenerator<T> {
  const it = pages[Symbol.asyncIterator]();
  // `seen.ended`: the read ahead came back with the source's end, known without asking for another page (a caller
  // that stops early can tell "read everything" from "stopped with more to read").
  const ahead = () => {
    const n = it.next();
    n.then((r) => void (r.done && (seen.ended = true)), () => undefined);
    return n;
  };
  let next = ahead();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = ahead();
      next.catch(() => undefined); // surfaced when awaited on the next turn, not as an unhandled rejection
      yield r.value;
    }
  } finally {
    // Stopping early (budget, cancel): let the read in flight settle, then close the source's iterator.
    await next.catch(() => undefined);
    await it.return?.();
  }
}
