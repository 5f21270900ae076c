import { firstAtOrAfter } from '../../../src/mock-api/orders-dataset';
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
 * after }`, answering `{ total, results, paging: { next: { after } } }`; `after` past 10,000 is refused
 * (the search API's cap, which is why a sync must filter by time rather than page through everything).
 */
export function startHubspotFake(records: number, seed: number, token: string): Promise<FakeApi> {
  return startFake(records, seed, (req, data) => {
    if (req.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { status: 'error', category: 'INVALID_AUTHENTICATION' } };
    if (req.method !== 'POST' || !/^\/crm\/v3\/objects\/\w+\/search$/.test(req.url.pathname)) return { status: 404, body: { status: 'error', message: 'not found' } };
    if (req.headers['content-type'] !== 'application/json') return badRequest('content-type must be application/json');
    const b = req.json as { filterGroups?: { filters: Filter[] }[]; sorts?: { propertyName: string; direction: string }[]; limit?: number; after?: string };
    const limit = b.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) return badRequest(`limit must be 1..200 (got ${String(limit)})`);
    const after = Number(b.after ?? 0);
    if (after >= 10_000) return badRequest('the search API returns at most 10,000 results');
    const s = b.sorts?.[0];
    if (!s || s.propertyName !== 'hs_lastmodifieddate' || s.direction !== 'ASCENDING') return badRequest('this fake sorts by hs_lastmodifieddate ASCENDING only');
    const all = data.byTimeOrder();
    let lo = 0;
    let hi = all.length;
    for (const f of b.filterGroups?.[0]?.filters ?? []) {
      if (f.propertyName !== 'hs_lastmodifieddate' || !/^\d+$/.test(String(f.value))) return badRequest(`filters: hs_lastmodifieddate with an epoch-millisecond value (got ${JSON.stringify(f)})`);
      if (f.operator === 'GTE') lo = Math.max(lo, firstAtOrAfter(all, Number(f.value)));
      else if (f.operator === 'LT') hi = Math.min(hi, firstAtOrAfter(all, Number(f.value)));
      else return badRequest(`operator ${f.operator}: this fake knows GTE and LT`);
    }
    const matched = all.slice(lo, Math.max(lo, hi));
    const page = matched.slice(after, after + limit);
    const next = after + limit < matched.length ? { paging: { next: { after: String(after + limit) } } } : {};
    return { body: { total: matched.length, results: page.map((e) => e.order), ...next } };
  });
}
