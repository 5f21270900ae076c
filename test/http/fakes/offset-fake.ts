import { badRequest, startFake, type FakeApi } from './fake-server';

/** A plain offset/limit API: `GET /api/items?offset=&limit=` (limit capped at 50 silently), by id, `{ items, total }`. */
export function startOffsetFake(records: number, seed: number, token: string): Promise<FakeApi> {
  return startFake(records, seed, (req, data) => {
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { error: 'unauthorized' } };
    if (req.url.pathname !== '/api/items') return { status: 404, body: { error: 'not found' } };
    const offset = Number(req.url.searchParams.get('offset') ?? 0);
    const limit = Math.min(Number(req.url.searchParams.get('limit') ?? 20), 50);
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 1) return badRequest('offset and limit must be whole numbers');
    const all = data.byIdOrder();
    return { body: { items: all.slice(offset, offset + limit).map((e) => e.order), total: all.length } };
  });
}
