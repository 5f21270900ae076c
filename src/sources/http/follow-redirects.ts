import { HttpSourceError } from './http-errors';
import { safeUrl } from './redact';

/** Redirects followed per request (fetch's own limit is 20; an API that needs more is misconfigured). */
const MAX_REDIRECTS = 5;

export interface FirstRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** masks the source's secrets in a message */
  redact: (text: string) => string;
}

/**
 * fetch, following redirects by hand: fetch's own following re-sends every header but Authorization to another
 * origin, so an `X-API-Key`, a `Private-Token` header or a query api_key went wherever a 302 pointed (a security
 * acceptance run). Same origin: followed with the request's credentials, `reapply` putting the auth on the new URL.
 * Another origin (a CDN, a presigned download): followed with no configured header and no credential. From https to
 * http: refused, like a next link leaving the origin. 303 (and 301/302 after a POST) continue as a GET, as fetch does.
 */
export async function fetchFollowing(first: FirstRequest, reapply: (url: URL, headers: Record<string, string>) => Promise<void>): Promise<Response> {
  let { url, method, headers, body } = first;
  const origin = first.url.origin;
  for (let hop = 0; ; hop++) {
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: first.signal, redirect: 'manual' });
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (location === null) return res;
    await res.arrayBuffer().catch(() => undefined); // free the connection
    if (hop >= MAX_REDIRECTS) throw new HttpSourceError('url', `more than ${MAX_REDIRECTS} redirects: point source.url at where the API answers`, safeUrl(first.url, first.redact));
    const next = new URL(location, url);
    if (url.protocol === 'https:' && next.protocol !== 'https:') throw new HttpSourceError('url', `the API redirected to ${safeUrl(next, first.redact)}, away from https: refused (credentials and data would travel in clear)`, safeUrl(url, first.redact));
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) [method, body] = ['GET', undefined];
    if (next.origin === origin) {
      headers = { ...headers };
      await reapply(next, headers);
    } else headers = { accept: headers.accept ?? 'application/json' };
    url = next;
  }
}
