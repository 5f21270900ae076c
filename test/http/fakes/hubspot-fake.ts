import { firstAtOrAfter, type Entry, type OrdersDataset } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi } from './fake-server';

interface Filter {
  propertyName: string;
  operator: string;
  value: string;
}

/**
 * HubSpot-like CRM search, `POST /crm/v3/objects/{object}/search` as its docs describe it: a JSON body
 * `{ filterGroups: [{ filters: [{ propertyName: "hs_lastmodifieddate", operator: "GTE"|"LT", value:
 * "<epoch ms>" }] }], sorts: [{ propertyName, direction: "ASCENDING" }], limit (at most 200, else 400),
 * after }`, answering `{ total, results, paging: { next: { after } } }`; `after + limit` past 10,000 is
 * refused (the search API's cap). Sorted by `hs_object_id` with a filter `hs_object_id GT <last id>`, a sync goes
 * on past it, as HubSpot's docs advise; sorted by hs_lastmodifieddate, a contact updated during a pass moves to
 * the end and shifts the others back a place.
 */
export interface HubspotFakeOptions {
  /** the search API's cap on after + limit (HubSpot: 10,000; smaller in tests) */
  maxResults?: number;
  /** called before the n-th request (1-based) is answered: changes made here are what that request sees */
  beforeRequest?: (n: number, data: OrdersDataset) => void;
}

export function startHubspotFake(records: number, seed: number, token: string, o: HubspotFakeOptions = {}): Promise<FakeApi> {
  const cap = o.maxResults ?? 10_000;
  let n = 0;
  return startFake(records, seed, (req, data) => {
    o.beforeRequest?.(++n, data);
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { status: 'error', category: 'INVALID_AUTHENTICATION' } };
    if (req.method !== 'POST' || !/^\/crm\/v3\/objects\/\w+\/search$/.test(req.url.pathname)) return { status: 404, body: { status: 'error', message: 'not found' } };
    if (req.headers['content-type'] !== 'application/json') return badRequest('content-type must be application/json');
    const b = req.json as { filterGroups?: { filters: Filter[] }[]; sorts?: { propertyName: string; direction: string }[]; limit?: number; after?: string };
    const limit = b.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) return badRequest(`limit must be 1..200 (got ${String(limit)})`);
    const after = Number(b.after ?? 0);
    if (after + limit > cap) return badRequest(`the search API returns at most ${cap.toLocaleString('en-US')} results`);
    const s = b.sorts?.[0];
    const byId = s?.propertyName === 'hs_object_id';
    if (!s || (s.propertyName !== 'hs_lastmodifieddate' && !byId) || s.direction !== 'ASCENDING') return badRequest('this fake sorts by hs_lastmodifieddate or hs_object_id, ASCENDING');
    let [from, to, gt] = [-Infinity, Infinity, -Infinity];
    for (const f of b.filterGroups?.[0]?.filters ?? []) {
      if (!/^\d+$/.test(String(f.value))) return badRequest(`filters: a number as text (got ${JSON.stringify(f)})`);
      const v = Number(f.value);
      if (f.propertyName === 'hs_lastmodifieddate' && f.operator === 'GTE') from = Math.max(from, v);
      else if (f.propertyName === 'hs_lastmodifieddate' && f.operator === 'LT') to = Math.min(to, v);
      else if (f.propertyName === 'hs_object_id' && f.operator === 'GT') gt = Math.max(gt, v);
      else return badRequest(`filter ${f.propertyName} ${f.operator}: this fake knows hs_lastmodifieddate GTE/LT and hs_object_id GT`);
    }
    let matched: readonly Entry[];
    if (byId) matched = data.byIdOrder().filter((e) => e.t >= from && e.t < to && e.order.id > gt);
    else {
      const all = data.byTimeOrder();
      const lo = Number.isFinite(from) ? firstAtOrAfter(all, from) : 0;
      const hi = Number.isFinite(to) ? firstAtOrAfter(all, to) : all.length;
      matched = all.slice(lo, Math.max(lo, hi)).filter((e) => e.order.id > gt);
    }
    const page = matched.slice(after, after + limit);
    const next = after + limit < matched.length ? { paging: { next: { after: String(after + limit) } } } : {};
    return { body: { total: matched.length, results: page.map((e) => e.order), ...next } };
  });
}
