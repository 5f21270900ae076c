import { firstAtOrAfter } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi } from './fake-server';

/**
 * An API that speaks epoch milliseconds only: `GET /v2/changes?since_ms=&until_ms=&limit=` (limit
 * capped at 200) → `{ results, has_more }`, records in ascending `updated` (epoch ms, a JSON number)
 * with no ISO time in them, filtered to [since_ms, until_ms).
 */
export function startEpochWindowFake(records: number, seed: number, token: string): Promise<FakeApi> {
  return startFake(records, seed, (req, data) => {
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { message: 'unauthorized' } };
    if (req.url.pathname !== '/v2/changes') return { status: 404, body: { message: 'not found' } };
    const q = req.url.searchParams;
    // Also in seconds (since_s, until_s), as some endpoints of such APIs take them.
    const sec = (name: string) => (q.get(name) === null ? null : /^\d+$/.test(q.get(name) as string) ? String(Number(q.get(name)) * 1000) : 'x');
    const since = q.get('since_ms') ?? sec('since_s') ?? '0';
    const until = q.get('until_ms') ?? sec('until_s');
    if (!/^\d+$/.test(since) || (until !== null && !/^\d+$/.test(until))) return badRequest('since_ms and until_ms are epoch milliseconds (whole numbers)');
    const limit = Math.min(Number(q.get('limit') ?? 50), 1000);
    const all = data.byTimeOrder();
    const end = until === null ? all.length : firstAtOrAfter(all, Number(until));
    const start = firstAtOrAfter(all, Number(since));
    const page = all.slice(start, Math.min(start + limit, end));
    return {
      body: {
        results: page.map((e) => {
          const { updated_at: _drop, ...rest } = e.order;
          return { ...rest, updated: e.t };
        }),
        has_more: start + page.length < end,
      },
    };
  });
}
