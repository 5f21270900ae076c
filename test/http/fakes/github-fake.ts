import type { Entry } from '../../../src/mock-api/orders-dataset';
import { firstAtOrAfter } from '../../../src/mock-api/orders-dataset';
import type { OrdersDataset } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi, type FakeReply } from './fake-server';

export interface GithubFakeOptions {
  token: string;
  /** every n-th request is refused with GitHub's primary rate-limit form: 403, x-ratelimit-remaining: 0, x-ratelimit-reset (epoch seconds) */
  rateLimitEvery?: number;
  /** called before the n-th request (1-based) is answered: changes made here are what that request sees */
  beforeRequest?: (n: number, data: OrdersDataset) => void;
}

/**
 * The issues a list request names: `since` (updated at or after), in the order of `sort=created|updated`
 * (`direction=asc`). Issue numbers (ids) are in creation order. Sorted by updated, an issue updated during a
 * pass moves to the end and every later one shifts back a place: GitHub's documented order, which is why a sync
 * pages it sorted by created.
 */
export function issuesOf(data: OrdersDataset, q: URLSearchParams): { list: readonly Entry[] } | { reply: FakeReply } {
  const sort = q.get('sort') ?? 'created';
  if ((sort !== 'updated' && sort !== 'created') || q.get('direction') !== 'asc') return { reply: badRequest('this fake serves sort=created|updated with direction=asc') };
  const since = q.get('since');
  const t = since === null ? undefined : Date.parse(since);
  if (since !== null && (Number.isNaN(t) || !/^\d{4}-\d\d-\d\dT/.test(since))) return { reply: badRequest(`since: not an ISO-8601 timestamp: ${since}`) };
  if (sort === 'updated') {
    const all = data.byTimeOrder();
    return { list: t === undefined ? all : all.slice(firstAtOrAfter(all, t)) };
  }
  const all = data.byIdOrder();
  return { list: t === undefined ? all : all.filter((e) => e.t >= t) };
}

/**
 * GitHub-like `GET /repos/{owner}/{repo}/issues` as its REST docs describe it: `since` (ISO-8601,
 * updated at or after), `sort=created|updated&direction=asc` (see issuesOf), `per_page` (default 30, capped at 100 without a
 * word), `page`, and a `Link` header with rel="next"/"last" (and "prev"/"first" after page 1); a bearer
 * token; the body is the array itself.
 */
export function startGithubFake(records: number, seed: number, o: GithubFakeOptions): Promise<FakeApi & { rateLimited: () => number }> {
  let n = 0;
  let limited = 0;
  return startFake(records, seed, (req, data, base) => {
    n++;
    if (req.headers.authorization !== `Bearer ${o.token}`) return { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
    if (o.rateLimitEvery && n % o.rateLimitEvery === 0) {
      limited++;
      const reset = Math.ceil(Date.now() / 1000) + 1;
      return { status: 403, headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, body: { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' } };
    }
    if (!/^\/repos\/[^/]+\/[^/]+\/issues$/.test(req.url.pathname)) return { status: 404, body: { message: 'Not Found' } };
    const q = req.url.searchParams;
    const perPage = Math.min(Number(q.get('per_page') ?? 30), 100);
    const page = Number(q.get('page') ?? 1);
    if (!Number.isInteger(perPage) || perPage < 1 || !Number.isInteger(page) || page < 1) return badRequest('per_page and page must be positive integers');
    o.beforeRequest?.(n, data);
    const found = issuesOf(data, q);
    if ('reply' in found) return found.reply;
    const list = found.list;
    const pages = Math.max(1, Math.ceil(list.length / perPage));
    const link = (p: number, rel: string) => {
      const u = new URL(req.url.pathname, base);
      for (const [k, v] of q) u.searchParams.set(k, v);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${u.href}>; rel="${rel}"`;
    };
    const rels = [...(page < pages ? [link(page + 1, 'next'), link(pages, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])];
    const body = list.slice((page - 1) * perPage, page * perPage).map((e) => e.order);
    return { headers: rels.length ? { link: rels.join(', ') } : {}, body };
  }).then((api) => Object.assign(api, { rateLimited: () => limited }));
}
