import type { Order } from './order-factory';
import { firstAfter, firstAtOrAfter, type OrdersDataset } from './orders-dataset';

export interface RouteResult {
  status: number;
  body: unknown;
  /** the page cap cut this answer: more records were asked than it allows */
  capped?: boolean;
}

/**
 * A silent page cap, as many real APIs apply one (GitHub and Stripe 100, Shopify 250): at most `max`
 * records per answer however many are asked, and no hint that there is more (no has_more, no totals).
 */
export interface PageCapRule {
  max: number;
}

export const MAX_PAGE = 1000;

class BadRequest extends Error {}

/**
 * The four list endpoints, one per pagination style, over the same orders:
 *   GET /v1/orders?limit=&starting_after=ID                 ascending id            {object, data, has_more}
 *   GET /v1/orders/cursor?limit=&cursor=TOKEN               ascending (updated_at, id) {data, next_cursor, has_more}
 *   GET /v1/orders/pages?per_page=&page=&updated_since=T    ascending id, updated_at >= T {data, page, per_page, total, total_pages}
 *   GET /v1/orders/window?limit=&from=A&to=B                A <= updated_at < B, ascending (updated_at, id) {data, has_more}
 * With a page cap, each answers at most `cap.max` records and drops has_more, total, total_pages and per_page.
 */
export function route(path: string, q: URLSearchParams, data: OrdersDataset, cap?: PageCapRule): RouteResult | undefined {
  try {
    const list = Object.hasOwn(LISTS, path) ? LISTS[path] : undefined;
    if (!list) return undefined;
    const asked = intParam(q, list.limitParam, 10, 1, MAX_PAGE);
    const limit = cap ? Math.min(asked, cap.max) : asked;
    const body = list.answer(q, data, limit);
    if (!cap) return { status: 200, body };
    for (const hint of ['has_more', 'total', 'total_pages', 'per_page']) delete body[hint];
    return { status: 200, body, capped: asked > cap.max };
  } catch (err) {
    if (err instanceof BadRequest) return { status: 400, body: { error: { type: 'invalid_request_error', message: err.message } } };
    throw err;
  }
}

type Body = Record<string, unknown>;

const LISTS: Record<string, { limitParam: string; answer: (q: URLSearchParams, data: OrdersDataset, limit: number) => Body }> = {
  '/v1/orders': { limitParam: 'limit', answer: startingAfter },
  '/v1/orders/cursor': { limitParam: 'limit', answer: cursorPage },
  '/v1/orders/pages': { limitParam: 'per_page', answer: numberedPage },
  '/v1/orders/window': { limitParam: 'limit', answer: windowPage },
};

function startingAfter(q: URLSearchParams, data: OrdersDataset, limit: number): Body {
  const after = q.has('starting_after') ? intParam(q, 'starting_after', 0, 0, Number.MAX_SAFE_INTEGER) : 0;
  const list = data.byIdOrder();
  let i = 0;
  let hi = list.length;
  while (i < hi) {
    const mid = (i + hi) >>> 1;
    if ((list[mid] as { order: Order }).order.id <= after) i = mid + 1;
    else hi = mid;
  }
  const page = list.slice(i, i + limit);
  return { object: 'list', url: '/v1/orders', data: page.map((e) => e.order), has_more: i + limit < list.length };
}

function cursorPage(q: URLSearchParams, data: OrdersDataset, limit: number): Body {
  const token = q.get('cursor');
  const list = data.byTimeOrder();
  const pos = token ? decodeToken(token) : undefined;
  const start = pos ? firstAfter(list, pos.t, pos.id) : 0;
  const page = list.slice(start, start + limit);
  const last = page[page.length - 1];
  // The token after the last record is always returned, also at the end: poll it later for new changes.
  const next = last ? encodeToken(last.t, last.order.id) : (token ?? null);
  return { data: page.map((e) => e.order), next_cursor: next, has_more: start + limit < list.length };
}

function numberedPage(q: URLSearchParams, data: OrdersDataset, perPage: number): Body {
  const page = intParam(q, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
  const since = q.has('updated_since') ? timeParam(q, 'updated_since') : -Infinity;
  const matching = data.byIdOrder().filter((e) => e.t >= since);
  const rows = matching.slice((page - 1) * perPage, page * perPage);
  return { data: rows.map((e) => e.order), page, per_page: perPage, total: matching.length, total_pages: Math.ceil(matching.length / perPage) };
}

function windowPage(q: URLSearchParams, data: OrdersDataset, limit: number): Body {
  const from = timeParam(q, 'from');
  const to = timeParam(q, 'to');
  if (to < from) throw new BadRequest('to must not be before from');
  const list = data.byTimeOrder();
  const start = firstAtOrAfter(list, from);
  const rows = [];
  let i = start;
  for (; i < list.length && rows.length < limit && (list[i] as { t: number }).t < to; i++) rows.push((list[i] as { order: Order }).order);
  const more = i < list.length && (list[i] as { t: number }).t < to;
  return { data: rows, has_more: more };
}

function intParam(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const raw = q.get(name);
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new BadRequest(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

function timeParam(q: URLSearchParams, name: string): number {
  const raw = q.get(name);
  const t = raw === null ? NaN : Date.parse(raw);
  if (raw === null || !/^\d{4}-\d\d-\d\dT/.test(raw) || Number.isNaN(t)) throw new BadRequest(`${name} must be an ISO-8601 timestamp (got ${JSON.stringify(raw)})`);
  return t;
}

function encodeToken(t: number, id: number): string {
  return Buffer.from(`${t}.${id}`).toString('base64url');
}

function decodeToken(token: string): { t: number; id: number } {
  const m = /^(\d+)\.(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw new BadRequest(`cursor ${JSON.stringify(token)} is not a cursor this API issued`);
  return { t: Number(m[1]), id: Number(m[2]) };
}
