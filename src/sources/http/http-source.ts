import { templatesUseSince, type HttpSourceConfig } from '../../config/http-source-schema';
import { envRefsIn } from '../../config/env-refs';
import type { Cursor } from '../../cursor/cursor';
import type { ColumnSpec, CopyPage, Page, PrepareOptions, ReadOptions, Source, SourcePlan } from '../source';
import { isBoundedPagination, maxPageSizeOf, type HttpPagination } from '../../config/http-pagination-schema';
import { passBound } from './pass-bound';

export { passBound };
import { laterHttpCursor, parseHttpCursor, type LinkCursor, type OffsetCursor, type TimeSliceCursor, type FeedCursor, type PageCursor, type StartingAfterCursor, type TimeWindowCursor, type TokenCursor } from './cursors';
import { HttpClient, type HttpClientStats, type HttpRequest } from './http-client';
import { warnInActivity } from '../../util/activity-log';
import { HttpSourceError } from './http-errors';
import { throwApiErrors } from './api-errors';
import { getPath } from './json-path';
import { GroupSizes } from './paginators/group-sizes';
import type { PageContext, RecordPage } from './paginators/page-context';
import { feedPages } from './paginators/feed-pages';
import { nextLinkPages } from './paginators/next-link-pages';
import { offsetPages } from './paginators/offset-pages';
import { pageNumberPages } from './paginators/page-number-pages';
import { startingAfterPages } from './paginators/starting-after-pages';
import { timeSlicePages } from './paginators/time-slice-pages';
import { timeWindowPages } from './paginators/time-window-pages';
import { tokenPages } from './paginators/token-pages';
import { pageCapOf } from './page-cap';
import { leaseLimiter } from './rate-limiter';
import { NextLinks } from './next-links';
import { inSlices, rowMaker, rowPages } from './records';
import { copyDataMaker, copyPagesOf } from './copy-pages';
import { RequestTemplates } from './request-templates';
import { createAuth } from './auth';
import { makeRedactor, safeUrl, urlSecrets } from './redact';
import { USERINFO_REFUSED } from '../../config/http-schema-parts';
import { readBound, splitTimeRange, timeRangeScale } from './time-split';

import type { ResolveEnv } from '../../config/env-refs';

export type { ResolveEnv };

/** The http source, with its request counters (requests sent, retries) for tests and logs. */
export interface HttpSource extends Source {
  readonly stats: Readonly<HttpClientStats>;
}

/**
 * `kind: http`: a JSON API read page by page in one of its pagination styles (see ./paginators for
 * each style's range semantics). `${NAME}` references in url, headers and params are resolved here, in
 * the worker; the resolved values stay in this object and out of cursors, plans and error messages.
 */
/** Where the source's credential lives: OAuth2 tokens are cached, stored and refreshed per integration. */
export interface HttpSourceContext {
  integration: string;
  env?: NodeJS.ProcessEnv;
  /** the state database (tidemark.oauth_tokens), for OAuth2 refresh tokens */
  stateDbUrl?: string;
}

export async function createHttpSource(cfg: HttpSourceConfig, resolve: ResolveEnv, auth: HttpSourceContext = { integration: 'http' }): Promise<Source> {
  const secrets: string[] = [];
  const resolved = (value: string, field: string): string => {
    for (const name of envRefsIn(value)) secrets.push(resolve(`\${${name}}`, field));
    return resolve(value, field);
  };
  const headers = Object.fromEntries(Object.entries(cfg.headers).map(([k, v]) => [k, resolved(v, `headers.${k}`)]));
  const params = Object.fromEntries(Object.entries(cfg.params).map(([k, v]) => [k, resolved(v, `params.${k}`)]));
  const rawUrl = resolve(cfg.url, 'url');
  secrets.push(...urlSecrets(cfg.url, resolve));
  const credential = createAuth(cfg.auth, { integration: auth.integration, env: auth.env, stateDbUrl: auth.stateDbUrl, timeoutMs: cfg.timeout });
  // Tokens received later (OAuth2) are masked too: the credential knows every value it sent or got.
  const masked = makeRedactor(secrets);
  const redact = (text: string) => credential.redact(masked(text));
  let base: URL;
  try {
    base = new URL(rawUrl);
  } catch {
    throw new HttpSourceError('url', `${JSON.stringify(redact(rawUrl))} is not a valid URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new HttpSourceError('url', `must be http:// or https:// (got ${base.protocol})`);
  if (base.username || base.password) throw new HttpSourceError('url', USERINFO_REFUSED);
  for (const [k, v] of Object.entries(params)) base.searchParams.set(k, v);

  const lease = leaseLimiter(base.origin, cfg.requestsPerSecond, auth.integration);
  const client = new HttpClient({
    headers,
    timeoutMs: cfg.timeout,
    retries: cfg.retries,
    backoff: { initialMs: cfg.backoff.initial, maxMs: cfg.backoff.max },
    limiter: lease.limiter,
    redact,
    policy: cfg.responses,
    auth: credential,
    onRetry: (r) => warnInActivity(`${r.url}: ${r.reason}; retry ${r.retry} of ${r.retries} in ${(r.waitMs / 1000).toFixed(1)} s`, { integration: auth.integration }),
  });
  const columns: ColumnSpec[] = cfg.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull }));
  const toRows = inSlices(rowMaker(cfg.columns));
  const toCopyData = copyDataMaker(cfg.columns);
  const style = cfg.pagination.style;
  const shownUrl = safeUrl(base, redact);
  let highWater: string | null = null;
  // The batch size may exceed what the API serves: ask at most its declared largest page.
  const maxPage = maxPageSizeOf(cfg.pagination) ?? Infinity;
  const cap = pageCapOf(base.href);
  const links = new NextLinks(base, redact);
  const templates = cfg.request ? new RequestTemplates(cfg.request) : undefined;

  const groups = new GroupSizes();
  /** Passes read again because their stored next link had expired: the run's warnings say so. */
  const staleLinks: string[] = [];
  /** `raw`: the records come as bytes where the answer allows (for COPY pages: raw/raw-copy.ts). */
  const contextFor = (raw: boolean): PageContext => ({
    async get(extra, opts, at, vars) {
      const url = new URL(at ?? base);
      const req: HttpRequest = { url, ...(raw ? { rawRecords: cfg.records } : {}) };
      if (templates && !at) {
        // The templates place every pagination value; a next link already carries its own.
        const built = await templates.build(vars ?? {});
        if (built.path) url.pathname = built.path;
        for (const [k, v] of Object.entries(built.params)) url.searchParams.set(k, v);
        Object.assign(req, { method: built.method, headers: built.headers, body: built.body });
      } else {
        for (const [k, v] of Object.entries(extra)) if (v !== undefined) url.searchParams.set(k, v);
      }
      const { body, headers, skipped, url: answered } = await client.send(req, opts);
      opts.onIdle?.();
      // Relative next links resolve against where the answer came from after a redirect on the source's origin (RFC
      // 3986 5.1.3), not the URL asked; a page's cursor may hold that URL. Another origin's answer keeps the URL asked.
      const requested = answered && answered.origin === url.origin ? answered : url;
      const moved = requested === url ? {} : { asked: url };
      // A status the policy skips reads as an empty page: the list ends there.
      if (skipped !== undefined) return { body: {}, headers, records: [], url: safeUrl(url, redact), requested, ...moved };
      throwApiErrors(body, cfg.responses, safeUrl(url, redact), req.method ?? 'GET', redact);
      const records = getPath(body, cfg.records);
      if (!Array.isArray(records)) {
        // A short body whole: an API's error answer (Slack's {"ok": false, "error": "token_revoked"}) says why. Long
        // ones are data in another shape (records elsewhere), not shown.
        const text = JSON.stringify(body) ?? String(body);
        const said = text.length <= 300 ? `; the body: ${redact(text)}` : '';
        const keys = (body && typeof body === 'object' && !Array.isArray(body) ? `top-level keys: ${Object.keys(body).join(', ') || 'none'}` : `the body is ${Array.isArray(body) ? 'an array: use records: "."' : typeof body}`) + said;
        throw new HttpSourceError('records', `the response has no array at "${cfg.records}" (${keys})`, safeUrl(url, redact), req.method);
      }
      return { body, headers, records, url: safeUrl(url, redact), requested, ...moved };
    },
    pageSize: (opts) => cap.limit(Math.min(cfg.pageSize ?? opts.limit, maxPage)),
    cap,
    groups,
  });
  const ctx = contextFor(false);
  const rawCtx = contextFor(true);

  const usesSince = templatesUseSince(cfg.request);
  /** The pages of style `p` after `cursor` (already parsed); `highWater` set for bounded styles. */
  const pagesOf = (c: PageContext, p: HttpPagination, cursor: Cursor, hw: string | null, opts: ReadOptions): AsyncIterable<RecordPage> => {
    switch (p.style) {
      case 'cursor':
        return tokenPages(c, p, cursor as TokenCursor | null, opts);
      case 'starting_after':
        return startingAfterPages(c, p, cursor as StartingAfterCursor | null, opts);
      case 'page':
        return pageNumberPages(c, p, cursor as PageCursor | null, hw as string, opts);
      case 'offset':
        return offsetPages(c, p, cursor as OffsetCursor | null, hw as string, opts, usesSince);
      case 'time_window':
        // A slice of a sharded backfill ends at its `until`, exclusive: the next slice starts there.
        return timeWindowPages(c, p, cursor as TimeWindowCursor | null, readBound(p, hw as string, opts.until), opts);
      case 'link_header':
      case 'next_url':
        return nextLinkPages(c, p, links, cursor as LinkCursor | null, hw, opts, (message) => {
          staleLinks.push(message);
          warnInActivity(message, { integration: auth.integration });
        });
      case 'feed': {
        const inner = p.inner;
        return feedPages(c, p, cursor as FeedCursor | null, opts, (fc, innerAfter) => pagesOf(fc, inner, parseHttpCursor(inner.style, innerAfter), inner.style === 'offset' ? new Date().toISOString() : null, opts));
      }
      case 'time_slices': {
        const inner = p.inner;
        // Inside a slice the inner style has no since filter and no passes (hw null); its end ends the slice.
        return timeSlicePages(c, p, cursor as TimeSliceCursor | null, readBound(p, hw as string, opts.until), opts, (sc, innerAfter, sliceEnd) => pagesOf(sc, inner, parseHttpCursor(inner.style, innerAfter), inner.style === 'offset' ? sliceEnd : null, opts));
      }
    }
  };

  const read = (after: Cursor, opts: ReadOptions, c = ctx): AsyncIterable<RecordPage> => {
    if (!highWater && isBoundedPagination(cfg.pagination, usesSince)) throw new Error('http source: prepare() must run before pages()');
    const until = opts.until === undefined ? undefined : parseHttpCursor(style, opts.until);
    // Only time-bounded styles read a slice; anything else given an end would read past it.
    if (until !== undefined && until !== null) readBound(cfg.pagination, highWater ?? '', until);
    return pagesOf(c, cfg.pagination, parseHttpCursor(style, after), highWater, until === undefined ? opts : { ...opts, until });
  };

  let released = false;
  const source: HttpSource = {
    kind: 'http',
    stats: client.stats,
    async prepare(opts: PrepareOptions): Promise<SourcePlan> {
      const bounded = isBoundedPagination(cfg.pagination, usesSince);
      // A resumed backfill keeps the upper bound it started with; a new run takes now - lag.
      highWater = bounded ? (opts.highWater ?? passBound(style, Date.now() - cfg.lag)) : null;
      const range = highWater ? `, up to ${highWater}` : '';
      return { columns, highWater, describe: `${cfg.request?.method ?? 'GET'} ${shownUrl} (pagination ${style}${range})` };
    },
    parseCursor: (value: unknown) => parseHttpCursor(style, value),
    later: async (a: Cursor, b: Cursor) => laterHttpCursor(style, a, b),
    pages: (after: Cursor, opts: ReadOptions): AsyncIterable<Page> => rowPages(read(after, opts), toRows),
    /** The same pages as COPY text: values escaped as they are read, no row-by-row second pass (no mapping applies). */
    copyPages: (after: Cursor, opts: ReadOptions): AsyncIterable<CopyPage> => copyPagesOf(read(after, opts, rawCtx), toCopyData),
    /** Sharded backfills: time slices of similar span over where the records are (time_window, time_slices only). */
    async split(after: Cursor, parts: number): Promise<Cursor[]> {
      return splitTimeRange(ctx, cfg.pagination, parseHttpCursor(style, after), highWater, parts, cfg.requestsPerSecond !== undefined);
    },
    rangeScale: timeRangeScale(ctx, cfg.pagination, () => highWater, cfg.requestsPerSecond !== undefined),
    notes: () => [...retryNotes(client.stats), ...staleLinks],
    async close() {
      if (!released) lease.release();
      released = true;
    },
  };
  return source;
}


/** The run's retries and waits, for its warnings (`runs`, `status`): a run an API slowed down says so. */
export function retryNotes(s: HttpClientStats): string[] {
  if (!s.retries && !s.skipped) return [];
  const parts = [`${s.retries} of ${s.requests} requests retried (${s.rateLimited} rate limited), ${(s.waitedMs / 1000).toFixed(1)} s spent waiting`];
  if (s.skipped) parts.push(`${s.skipped} answers skipped by source.responses.skip`);
  return [`the API: ${parts.join('; ')}`];
}
