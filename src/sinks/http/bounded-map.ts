/**
 * Runs `fn` over `items` with at most `limit` calls in flight (p-map is not a dependency; this is its
 * small core). After the first failure no new call starts, and it waits for the ones in flight to
 * settle before throwing it, so no request of a failed page is still running when the page is retried.
 */
export async function boundedMap<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.err;
  return results;
}
