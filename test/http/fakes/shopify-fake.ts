import type { Entry } from '../../../src/mock-api/orders-dataset';
import { firstAfter } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi, type FakeRequest } from './fake-server';

export interface ShopifyFakeOptions {
  token: string;
  /** the leaky bucket: this many requests at once, draining `leakPerSecond` (Shopify: 40 and 2/s) */
  bucket?: number;
  leakPerSecond?: number;
  /** what a 429's Retry-After says, in seconds (Shopify sends "2.0") */
  retryAfter?: number;
}

/** One 429 the fake answered: the request, and the wait its Retry-After header asked for. */
export interface Throttle {
  request: FakeRequest;
  retryAfterMs: number;
}

/** Filters a page_info carries, with the position (last id, or last updated_at and id) it continues after. */
interface PageInfo {
  status: string;
  order: string;
  min: number | null;
  /** the last record of the page before (null: from the start) */
  last: [number, number] | null;
}

const PATH = /^\/admin\/api\/\d{4}-\d\d\/orders\.json$/;
/** `updated_at_min` as the docs write it: 2014-04-25T16:15:47-04:00 (or Z) */
const SHOPIFY_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;
/** What a request with page_info may carry besides it (the pagination guide) */
const WITH_PAGE_INFO = new Set(['page_info', 'limit', 'fields']);
const STATUS: Record<string, (e: Entry) => boolean> = {
  any: () => true,
  open: (e) => !['refunded', 'cancelled'].includes(e.order.status),
  closed: (e) => e.order.status === 'refunded',
  cancelled: (e) => e.order.status === 'cancelled',
};

/**
 * Shopify-like REST Admin `GET /admin/api/{version}/orders.json` as its docs describe it: the
 * `X-Shopify-Access-Token` header (else 401); `limit` default 50, at most 250 (more is a 400);
 * `status` default `open` (`any` for every order); `updated_at_min` (at or after); `order` `id asc`
 * (default here) or `updated_at asc`; `{ orders: [...] }`; cursor pagination by a `Link` header with
 * `page_info` (rel="next" and rel="previous"), where a request with page_info may carry only `limit` and
 * `fields` (any filter is a 400: "updated_at_min cannot be passed when page_info is present"); and a
 * leaky bucket per app: over it, 429 with `Retry-After` (seconds, e.g. "2.0") and
 * `X-Shopify-Shop-Api-Call-Limit: n/size` on every answer.
 */
export function startShopifyFake(records: number, seed: number, o: ShopifyFakeOptions): Promise<FakeApi & { throttles: Throttle[] }> {
  const size = o.bucket ?? 40;
  const leak = o.leakPerSecond ?? 2;
  const throttles: Throttle[] = [];
  let level = 0;
  let drained = Date.now();
  const encode = (p: PageInfo) => Buffer.from(JSON.stringify(p)).toString('base64url');
  return startFake(records, seed, (req, data, base) => {
    if (req.headers['x-shopify-access-token'] !== o.token) return { status: 401, body: { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' } };
    level = Math.max(0, level - ((req.at - drained) / 1000) * leak);
    drained = req.at;
    if (level + 1 > size) {
      const retryAfter = o.retryAfter ?? 2;
      throttles.push({ request: req, retryAfterMs: retryAfter * 1000 });
      return { status: 429, headers: { 'retry-after': retryAfter.toFixed(1), 'x-shopify-shop-api-call-limit': `${size}/${size}` }, body: { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' } };
    }
    level += 1;
    const callLimit = { 'x-shopify-shop-api-call-limit': `${Math.ceil(level)}/${size}` };
    if (req.method !== 'GET' || !PATH.test(req.url.pathname)) return { status: 404, body: { errors: 'Not Found' } };
    const q = req.url.searchParams;
    const limit = Number(q.get('limit') ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 250) return badRequest(`limit: must be between 1 and 250 (got ${q.get('limit')})`);
    let info: PageInfo;
    const pageInfo = q.get('page_info');
    if (pageInfo !== null) {
      for (const k of q.keys()) if (!WITH_PAGE_INFO.has(k)) return { status: 400, body: { errors: { [k]: `${k} cannot be passed when page_info is present` } } };
      try {
        info = JSON.parse(Buffer.from(pageInfo, 'base64url').toString()) as PageInfo;
      } catch {
        return badRequest('page_info: Invalid value.');
      }
    } else {
      const min = q.get('updated_at_min');
      if (min !== null && !SHOPIFY_TIME.test(min)) return badRequest(`updated_at_min: must be a time like 2014-04-25T16:15:47-04:00 (got ${min})`);
      info = { status: q.get('status') ?? 'open', order: q.get('order') ?? 'id asc', min: min === null ? null : Date.parse(min), last: null };
      if (!STATUS[info.status]) return badRequest(`status: must be open, closed, cancelled or any (got ${info.status})`);
      if (info.order !== 'id asc' && info.order !== 'updated_at asc') return badRequest(`order: this fake sorts by "id asc" or "updated_at asc" (got ${info.order})`);
    }
    const byTime = info.order === 'updated_at asc';
    const all = byTime ? data.byTimeOrder() : data.byIdOrder();
    const [lastT, lastId] = info.last ?? [-Infinity, -Infinity];
    const from = byTime ? firstAfter(all, lastT, lastId) : all.findIndex((e) => e.order.id > lastId);
    const rest = (from < 0 ? [] : all.slice(from)).filter((e) => STATUS[info.status]!(e) && (info.min === null || e.t >= info.min));
    const page = rest.slice(0, limit);
    const last = page[page.length - 1];
    const link = (p: PageInfo, rel: string) => `<${base}${req.url.pathname}?limit=${limit}&page_info=${encode(p)}>; rel="${rel}"`;
    const links = [...(pageInfo !== null ? [link({ ...info, last: null }, 'previous') /* to the first page, here */] : []), ...(last && rest.length > limit ? [link({ ...info, last: [last.t, last.order.id] }, 'next')] : [])];
    return { headers: { ...callLimit, ...(links.length ? { link: links.join(', ') } : {}) }, body: { orders: page.map((e) => e.order) } };
  }).then((api) => Object.assign(api, { throttles }));
}
