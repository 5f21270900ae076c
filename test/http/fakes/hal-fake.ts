import type { Entry } from '../../../src/mock-api/orders-dataset';
import { firstAtOrAfter } from '../../../src/mock-api/orders-dataset';
import { badRequest, startFake, type FakeApi } from './fake-server';

export interface HalFakeOptions {
  apiKey: string;
  /** next links point to this origin instead of the fake's own (a hostile or misconfigured API) */
  linkOrigin?: string;
}

/**
 * A HAL API (`_links.next.href`) keyed by `?api_key=` in the query string, whose next links repeat the
 * key, as many such APIs do: `GET /hal/orders?changed_since=&size=` → `{ _embedded: { orders }, _links:
 * { self, next } }`, next a relative path with an opaque `page_token` (ascending updated_at, id).
 */
export function startHalFake(records: number, seed: number, o: HalFakeOptions): Promise<FakeApi> {
  return startFake(records, seed, (req, data) => {
    const q = req.url.searchParams;
    if (q.get('api_key') !== o.apiKey) return { status: 401, body: { message: 'invalid api_key' } };
    if (req.url.pathname !== '/hal/orders') return { status: 404, body: { message: 'not found' } };
    const all = data.byTimeOrder();
    const size = Math.min(Number(q.get('size') ?? 25), 100);
    const token = q.get('page_token');
    let list: readonly Entry[] = all;
    const since = token ? Buffer.from(token, 'base64url').toString().split('|')[0] : q.get('changed_since');
    if (since) {
      if (Number.isNaN(Date.parse(since))) return badRequest('changed_since: not a timestamp');
      list = all.slice(firstAtOrAfter(all, Date.parse(since)));
    }
    const offset = token ? Number(Buffer.from(token, 'base64url').toString().split('|')[1]) : 0;
    const page = list.slice(offset, offset + size);
    const more = offset + size < list.length;
    const next = `/hal/orders?page_token=${Buffer.from(`${since ?? ''}|${offset + size}`).toString('base64url')}&size=${size}&api_key=${encodeURIComponent(o.apiKey)}`;
    return {
      body: {
        _embedded: { orders: page.map((e) => e.order) },
        _links: { self: { href: req.url.pathname + req.url.search }, ...(more ? { next: { href: o.linkOrigin ? `${o.linkOrigin}${next}` : next } } : {}) },
      },
    };
  });
}
