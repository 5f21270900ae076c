/**
 * Pages whose first read starts now, not when the caller first asks: a run sends its first request while the sink
 * is still being prepared (catalog queries, the staging table: tens of milliseconds, an API round trip). The first
 * page is then awaited where the caller asks for it; its failure surfaces there, never as an unhandled rejection.
 * `close()`: the caller will not read it (a failure before the loop): the read in flight settles, then the
 * source's iterator is closed.
 */
export interface EarlyPages<T> extends AsyncIterable<T> {
  close(): Promise<void>;
}

export function startEarly<T>(pages: AsyncIterable<T>): EarlyPages<T> {
  const it = pages[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<T>> | undefined = it.next();
  first.catch(() => undefined);
  let taken = false;
  /** Not read on: the read in flight settles, then the source's iterator closes. */
  const finish = async (value?: unknown): Promise<IteratorResult<T>> => {
    await first?.catch(() => undefined);
    first = undefined;
    return (await it.return?.(value)) ?? { done: true, value: undefined };
  };
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      if (taken) throw new Error('startEarly: the pages are read once');
      taken = true;
      return {
        next: () => {
          const r = first ?? it.next();
          first = undefined;
          return r;
        },
        return: finish,
      };
    },
    async close() {
      if (taken) return;
      taken = true;
      await finish();
    },
  };
}
