import { firstAfter, firstAtOrAfter } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi } from './fake-server';

/**
 * Zendesk-like cursor-based incremental export, `GET /api/v2/incremental/tickets/cursor.json`, as its
 * docs describe it: `start_time` (epoch seconds) on the first request, then `cursor=<after_cursor>`;
 * `per_page` up to 1000; the body `{ tickets, after_cursor, after_url, before_cursor, before_url,
 * end_of_stream }`, where end_of_stream true means no more pages now (the after_cursor is kept for the
 * next export). Records in ascending updated_at; a basic-or-bearer token.
 */
export function startZendeskFake(records: number, seed: number, token: string): Promise<FakeApi> {
  const encode = (t: number, id: number) => Buffer.from(`${t}:${id}`).toString('base64url');
  return startFake(records, seed, (req, data, base) => {
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { error: 'Couldn\'t authenticate you' } };
    if (req.url.pathname !== '/api/v2/incremental/tickets/cursor.json') return { status: 404, body: { error: 'InvalidEndpoint' } };
    const q = req.url.searchParams;
    const perPage = Math.min(Number(q.get('per_page') ?? 1000), 1000);
    const all = data.byTimeOrder();
    let from: number;
    const cursor = q.get('cursor');
    if (cursor !== null) {
      const [t, id] = Buffer.from(cursor, 'base64url').toString().split(':').map(Number);
      if (!Number.isFinite(t) || !Number.isFinite(id)) return badRequest('invalid cursor');
      from = firstAfter(all, t as number, id as number);
    } else {
      const start = q.get('start_time');
      if (start === null || !/^\d+$/.test(start)) return badRequest('start_time (epoch seconds) is required without a cursor');
      from = firstAtOrAfter(all, Number(start) * 1000);
    }
    const slice = all.slice(from, from + perPage);
    const lastEntry = slice[slice.length - 1];
    const after = lastEntry ? encode(lastEntry.t, lastEntry.order.id) : (cursor ?? encode(Number(q.get('start_time')) * 1000, -1));
    const afterUrl = `${base}${req.url.pathname}?cursor=${after}&per_page=${perPage}`;
    return { body: { tickets: slice.map((e) => e.order), after_cursor: after, after_url: afterUrl, before_cursor: null, before_url: null, end_of_stream: from + slice.length >= all.length } };
  });
}
