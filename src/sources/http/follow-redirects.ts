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
export async function fetchFollowing(first: FirstRequest, reapply: (url: URL, headers: Record<string, string>) => Promise<void>): Promise<{ res: Response; foreign: boolean; url: URL }> {
  let { url, method, headers, body } = first;
  const origin = first.url.origin;
  for (let hop = 0; ; hop++) {
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: first.signal, redirect: 'manual' });
    const location = REDIRECTS.has(res.status) ? res.headers.get('location') : null;
    // `url`: where the answer came from, the base of any relative link in it (RFC 3986 5.1.3).
    if (location === null) return { res, foreign: url.origin !== origin, url };
    await res.arrayBuffer().catch(() => undefined); // free the connection
    const shown = safeUrl(url, first.redact);
    if (hop >= MAX_REDIRECTS) throw new HttpSourceError('url', `more than ${MAX_REDIRECTS} redirects: point source.url at where the API answers`, shown);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new HttpSourceError('url', `the API redirected to ${JSON.stringify(first.redact(location.slice(0, 200)))}, which is not a URL`, shown);
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new HttpSourceError('url', `the API redirected to a ${next.protocol} URL: only http(s) is followed`, shown);
    if (url.protocol === 'https:' && next.protocol !== 'https:') throw new HttpSourceError('url', `the API redirected to ${safeUrl(next, first.redact)}, away from https: refused (credentials and data would travel in clear)`, shown);
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      [method, body] = ['GET', undefined];
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'content-type'));
    }
    if (next.origin === origin) {
      headers = { ...headers };
      await reapply(next, headers);
    } else headers = { accept: headers.accept ?? 'application/json', ...(body !== undefined && headers['content-type'] ? { 'content-type': headers['content-type'] } : {}) };
    url = next;
  }
}

/** The statuses that redirect (300 and 304 carry a Location without meaning "go there"). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
