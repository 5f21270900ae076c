import type { Entry } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi } from './fake-server';

/**
 * Stripe-like list, `GET /v1/charges`, as its docs describe it: newest first (created desc), `created[gte]`
 * / `created[lt]` in epoch seconds, `limit` 1..100 (more is a 400), `starting_after=<id>` continuing after
 * that object in list order, `{ object: "list", data, has_more, url }`; records carry `created` as epoch
 * seconds. The creation time never changes (an update does not move a charge in this list).
 */
export function startStripeFake(records: number, seed: number, token: string): Promise<FakeApi> {
  const created = (e: Entry) => Math.floor(Date.parse(e.order.created_at) / 1000);
  return startFake(records, seed, (req, data) => {
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } } };
    if (req.url.pathname !== '/v1/charges') return { status: 404, body: { error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } } };
    const q = req.url.searchParams;
    const limit = Number(q.get('limit') ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return badRequest('Invalid integer: limit must be between 1 and 100');
    const gte = q.get('created[gte]');
    const lt = q.get('created[lt]');
    for (const v of [gte, lt]) if (v !== null && !/^\d+$/.test(v)) return badRequest(`Invalid timestamp: must be an integer Unix timestamp (got ${v})`);
    let list = [...data.byIdOrder()].filter((e) => (gte === null || created(e) >= Number(gte)) && (lt === null || created(e) < Number(lt)));
    list.sort((a, b) => created(b) - created(a) || b.order.id - a.order.id);
    const after = q.get('starting_after');
    if (after !== null) {
      const i = list.findIndex((e) => String(e.order.id) === after);
      if (i < 0) return badRequest(`No such charge: '${after}'`);
      list = list.slice(i + 1);
    }
    const page = list.slice(0, limit);
    return { body: { object: 'list', url: '/v1/charges', has_more: list.length > limit, data: page.map((e) => ({ ...e.order, created: created(e) })) } };
  });
}
