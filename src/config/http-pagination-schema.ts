import { z } from 'zod';
import { duration, isoTime, maxPageSize, param, path, positiveInt, timeFormat } from './http-schema-parts';

/**
 * `source.pagination` of `kind: http`: how the list is walked and what its cursor holds (see
 * src/sources/http/paginators for each style's range semantics).
 */

/** An inverted has-more flag (Zendesk's `end_of_stream`): true means the list ends here. */
const endFlag = path.optional();

/** Next-cursor tokens: the API returns an opaque token for the next page; tidemark stores the last one. */
const cursorStyle = z.strictObject({
  style: z.literal('cursor'),
  /** query parameter that carries the token */
  param: param.default('cursor'),
  /** body path of the next page's token */
  next: path.default('next_cursor'),
  /** body path of a "more pages" flag; without one, the list ends at an empty page or a missing/repeated token */
  hasMore: path.default('has_more'),
  /** body path of an "end of the list" flag (used instead of hasMore) */
  endFlag,
  limitParam: param.default('limit'),
  /** the API's largest page: requests never ask for more */
  maxPageSize: maxPageSize.optional(),
});

/** Stripe style: `starting_after=<id of the last record>`, records in ascending id order. */
const startingAfterStyle = z.strictObject({
  style: z.literal('starting_after'),
  param: param.default('starting_after'),
  /** record field holding the id */
  idField: path.default('id'),
  /** body path of a "more pages" flag; without one, the list ends at an empty page */
  hasMore: path.default('has_more'),
  endFlag,
  limitParam: param.default('limit'),
  maxPageSize: maxPageSize.optional(),
});

/** Page numbers with an `updated_since` filter held fixed for a whole pass; the API's order must not change on update. */
const pageStyle = z.strictObject({
  style: z.literal('page'),
  param: param.default('page'),
  sinceParam: param.default('updated_since'),
  /** how the since value is written (iso | epoch_seconds | epoch_ms | date | "%Y-%m-%d …") */
  sinceFormat: timeFormat.default('iso'),
  firstPage: positiveInt('0 or 1 (the number of the first page)').min(0, 'must be 0 or 1').max(1, 'must be 0 or 1').default(1),
  /** body path of the page count, when the API returns it (saves the request for an empty last page; without it, a pass ends at an empty page) */
  totalPages: path.optional(),
  limitParam: param.default('per_page'),
  maxPageSize: maxPageSize.optional(),
});

/** `offset=<records before this page>&limit=<k>`, optionally with an `updated_since` filter held fixed for a pass. */
const offsetStyle = z
  .strictObject({
    style: z.literal('offset'),
    param: param.default('offset'),
    limitParam: param.default('limit'),
    /** the API's "changed since" filter; without one, every pass reads the whole list again */
    sinceParam: param.optional(),
    sinceFormat: timeFormat.default('iso'),
    /** body path of the total record count, when the API returns it */
    total: path.optional(),
    hasMore: path.optional(),
    endFlag,
    maxPageSize: maxPageSize.optional(),
    /**
     * The API's cap on offset + limit (HubSpot search: 10,000). A pass that reaches it goes on as a new search that
     * starts after the last record read: `$anchor` (its `anchorField`) in the request templates, offset 0 again.
     */
    maxOffset: positiveInt('a whole number of records, e.g. 10000').optional(),
    /** record field of the key the list is sorted on (ascending, unique: HubSpot's id), whose last value is $anchor */
    anchorField: path.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.maxOffset !== undefined && p.anchorField === undefined) ctx.addIssue({ code: 'custom', path: ['anchorField'], message: 'is required with maxOffset: the record field of the unique key the list is sorted on (e.g. id), which the next search starts after' });
    if (p.anchorField !== undefined && p.maxOffset === undefined) ctx.addIssue({ code: 'custom', path: ['maxOffset'], message: "is required with anchorField: the API's cap on offset + limit (e.g. 10000)" });
  });

/** Time windows `[from, to)` on a record timestamp field, records in ascending order of it. */
const timeWindowStyle = z
  .strictObject({
    style: z.literal('time_window'),
    fromParam: param.default('from'),
    toParam: param.default('to'),
    /** record field holding the timestamp the API filters and sorts on */
    field: path.default('updated_at'),
    /** how the API takes the window bounds (Stripe: epoch_seconds); bounds are cut to what it can say */
    format: timeFormat.default('iso'),
    /** how records write the field (default: as format) */
    fieldFormat: timeFormat.optional(),
    /** where a first run starts (default 1970-01-01T00:00:00Z) */
    start: isoTime.optional(),
    /** longest window per request, when the API limits it (then set start near the oldest record) */
    maxWindow: duration.refine((ms) => ms >= 1, 'must be at least 1ms').optional(),
    /** the API's largest page: a group of records sharing one timestamp must fit in it */
    maxPageSize: maxPageSize.default(1000),
    hasMore: path.default('has_more'),
    limitParam: param.default('limit'),
  })
  .superRefine((p, ctx) => {
    // Windows of at most maxWindow from 1970 would be hundreds of thousands of requests.
    if (p.maxWindow !== undefined && p.start === undefined) ctx.addIssue({ code: 'custom', path: ['start'], message: 'is required with maxWindow: the time of the oldest record (e.g. "2021-01-01T00:00:00Z"), where the first window starts' });
  })
  .transform((p) => ({ ...p, start: p.start ?? '1970-01-01T00:00:00.000Z', fieldFormat: p.fieldFormat ?? p.format }));

/** Shared by the two next-link styles: the API hands over the next page's URL, tidemark follows it. */
const nextLinkFields = {
  /** records per request, sent on the first request only (next links carry their own); leave out when the API has none */
  limitParam: param.optional(),
  maxPageSize: maxPageSize.optional(),
  /** the API's "changed since" filter (GitHub `since`, Shopify `updated_at_min`), held fixed for a pass */
  sinceParam: param.optional(),
  sinceFormat: timeFormat.default('iso'),
};

/** RFC 8288 `Link: <…>; rel="next"` response header (GitHub, Shopify). */
const linkHeaderStyle = z.strictObject({
  style: z.literal('link_header'),
  /** the relation of the next page's link */
  rel: z.string({ error: 'must be a link relation such as "next"' }).regex(/^[a-z][a-z0-9.-]*$/i, 'must be a link relation such as "next"').default('next'),
  ...nextLinkFields,
});

/** Next page's URL or path in the body (Salesforce `nextRecordsUrl`, HAL `_links.next.href`). */
const nextUrlStyle = z.strictObject({
  style: z.literal('next_url'),
  /** body path of the next page's URL (absolute or relative to the current one) */
  next: path.default('next'),
  ...nextLinkFields,
});

/**
 * Newest-first lists (Stripe): time slices `[from, to)` on a creation time the API filters by, each read
 * to its end by an inner pagination whatever the sort order; the slice bound is the durable cursor.
 */
const timeSlicesStyle = z
  .strictObject({
    style: z.literal('time_slices'),
    fromParam: param.default('created[gte]'),
    toParam: param.default('created[lt]'),
    /** how the API takes the slice bounds (Stripe: epoch_seconds); bounds are cut to what it can say */
    format: timeFormat.default('iso'),
    /** where a first run starts (default 1970-01-01T00:00:00Z) */
    start: isoTime.optional(),
    /** longest slice per pass through the inner pagination */
    maxWindow: duration.refine((ms) => ms >= 1, 'must be at least 1ms').optional(),
    /** how one slice is paged: any style but time_window, page and time_slices (their own filters would fight the slice) */
    inner: z.discriminatedUnion('style', [cursorStyle, startingAfterStyle, offsetStyle, linkHeaderStyle, nextUrlStyle], {
      error: (iss) => (iss.code === 'invalid_union' || iss.code === 'invalid_type' ? 'must be { style: cursor | starting_after | offset | link_header | next_url, … } (how one slice is paged)' : undefined),
    }),
  })
  .superRefine((p, ctx) => {
    if (p.maxWindow !== undefined && p.start === undefined) ctx.addIssue({ code: 'custom', path: ['start'], message: 'is required with maxWindow: the time of the oldest record, where the first slice starts' });
    if ('sinceParam' in p.inner && p.inner.sinceParam !== undefined) ctx.addIssue({ code: 'custom', path: ['inner', 'sinceParam'], message: 'does not apply inside a time slice (the slice bounds are the filter): remove it' });
  })
  .transform((p) => ({ ...p, start: p.start ?? '1970-01-01T00:00:00.000Z' }));

/** Inner paginations of a time slice or a feed: their own filters would fight the outer range. */
const innerStyle = z.discriminatedUnion('style', [cursorStyle, startingAfterStyle, offsetStyle, linkHeaderStyle, nextUrlStyle], {
  error: (iss) => (iss.code === 'invalid_union' || iss.code === 'invalid_type' ? 'must be { style: cursor | starting_after | offset | link_header | next_url, … } (how the list is paged)' : undefined),
});

/** A newest-first list that cannot filter: read from the top, stop at the first record older than the cursor. */
const feedStyle = z
  .strictObject({
    style: z.literal('feed'),
    /** record field holding the time the list is sorted on, newest first */
    field: path.default('created'),
    fieldFormat: timeFormat.default('iso'),
    inner: innerStyle,
  })
  .superRefine((p, ctx) => {
    if ('sinceParam' in p.inner && p.inner.sinceParam !== undefined) ctx.addIssue({ code: 'custom', path: ['inner', 'sinceParam'], message: 'does not apply to a feed (it stops at the cursor instead of filtering): remove it' });
  });

const STYLES = 'cursor | starting_after | page | offset | time_window | link_header | next_url | time_slices | feed';

export const paginationSchema = z.discriminatedUnion('style', [cursorStyle, startingAfterStyle, pageStyle, offsetStyle, timeWindowStyle, linkHeaderStyle, nextUrlStyle, timeSlicesStyle, feedStyle], {
  error: (iss) => {
    if (iss.code === 'invalid_union') return `must be one of ${STYLES}`;
    if (iss.code === 'invalid_type') return `${iss.input === undefined ? 'is required' : 'must be an object'}: { style: ${STYLES}, …parameters of the style }`;
    return undefined;
  },
});

export type HttpPagination = z.infer<typeof paginationSchema>;
export type HttpPaginationStyle = HttpPagination['style'];

/**
 * Styles whose runs have an upper bound (now - lag) that the next pass starts from. Next-link styles
 * read in passes when they filter by a since value: a sinceParam, or request templates using $since.
 */
export function isBoundedPagination(p: HttpPagination, templatesUseSince = false): boolean {
  switch (p.style) {
    case 'page':
    case 'time_window':
    case 'offset':
    case 'time_slices':
      return true;
    case 'link_header':
    case 'next_url':
      return p.sinceParam !== undefined || templatesUseSince;
    default:
      return false;
  }
}

/** The API's largest page, declared on the style (or on the inner style of time_slices). */
export function maxPageSizeOf(p: HttpPagination): number | undefined {
  return p.style === 'time_slices' || p.style === 'feed' ? p.inner.maxPageSize : p.maxPageSize;
}
