import { z } from 'zod';
import { parseDuration } from './duration';
import { IDENT_RE } from './identifiers';

/**
 * `kind: http` — a JSON API read page by page (see src/sources/http). Everything the source needs is
 * declared here; types are inferred. Strings may hold `${NAME}` references (url, headers, params):
 * they are resolved in the worker only, so tokens never reach workflow history or the cursor.
 * (The duration schema is repeated here rather than imported from schema.ts, which imports this file.)
 */

const duration = z.union([z.string(), z.number()], { error: 'must be a duration such as "500ms", "2s", "5m" or a number of milliseconds' }).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: use e.g. "500ms", "2s", "5m", "1h30m"` });
    return z.NEVER;
  }
  return ms;
});

const ISO_TIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)$/;
const isoTime = z
  .string({ error: 'must be an ISO-8601 timestamp such as "2024-01-01T00:00:00Z"' })
  .regex(ISO_TIME, 'must be an ISO-8601 timestamp with a time zone, such as "2024-01-01T00:00:00Z"')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a valid date');

/** A query parameter name. */
const param = z.string({ error: 'must be the name of a query parameter' }).regex(/^[A-Za-z0-9_.\-[\]]{1,100}$/, 'must be the name of a query parameter (letters, digits, "_", "-", ".", "[", "]")');
/** A dot path into a JSON object, e.g. "data" or "meta.next_cursor". */
const path = z.string({ error: 'must be a dot path into the JSON body, e.g. "data" or "meta.next"' }).regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path into the JSON body, e.g. "data" or "meta.next"');
const positiveInt = (what: string) => z.number({ error: `must be ${what}` }).int(`must be ${what}`);
/** The API's largest page, as its documentation declares it (e.g. GitHub and Stripe 100, Shopify 250). */
const maxPageSize = positiveInt('a whole number of records').min(1, 'must be at least 1').max(100_000, 'must be at most 100000');

/** Next-cursor tokens: the API returns an opaque token for the next page; tidemark stores the last one. */
const cursorStyle = z.strictObject({
  style: z.literal('cursor'),
  /** query parameter that carries the token */
  param: param.default('cursor'),
  /** body path of the next page's token */
  next: path.default('next_cursor'),
  /** body path of a "more pages" flag; without one, the list ends at an empty page or a missing/repeated token */
  hasMore: path.default('has_more'),
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
  limitParam: param.default('limit'),
  maxPageSize: maxPageSize.optional(),
});

/** Page numbers with an `updated_since` filter held fixed for a whole pass; the API's order must not change on update. */
const pageStyle = z.strictObject({
  style: z.literal('page'),
  param: param.default('page'),
  sinceParam: param.default('updated_since'),
  firstPage: positiveInt('0 or 1 (the number of the first page)').min(0, 'must be 0 or 1').max(1, 'must be 0 or 1').default(1),
  /** body path of the page count, when the API returns it (saves the request for an empty last page; without it, a pass ends at an empty page) */
  totalPages: path.optional(),
  limitParam: param.default('per_page'),
  maxPageSize: maxPageSize.optional(),
});

/** Time windows `[from, to)` on a record timestamp field, records in ascending order of it. */
const timeWindowStyle = z.strictObject({
  style: z.literal('time_window'),
  fromParam: param.default('from'),
  toParam: param.default('to'),
  /** record field holding the ISO-8601 timestamp the API filters and sorts on */
  field: path.default('updated_at'),
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
  .transform((p) => ({ ...p, start: p.start ?? '1970-01-01T00:00:00.000Z' }));

export const paginationSchema = z.discriminatedUnion('style', [cursorStyle, startingAfterStyle, pageStyle, timeWindowStyle], {
  error: (iss) => {
    if (iss.code === 'invalid_union') return 'must be one of cursor | starting_after | page | time_window';
    if (iss.code === 'invalid_type') return `${iss.input === undefined ? 'is required' : 'must be an object'}: { style: cursor | starting_after | page | time_window, …parameters of the style }`;
    return undefined;
  },
});

const pgType = z.string({ error: 'must be a PostgreSQL type name, e.g. text, bigint, jsonb' }).regex(/^[a-z][a-z0-9 _(),]*$/i, 'must be a PostgreSQL type name, e.g. text, bigint, numeric(12,2), timestamptz, jsonb');

const columnSchema = z.union(
  [
    pgType,
    z.strictObject({
      type: pgType,
      /** dot path in the record; default: the field of the column's name */
      from: path.optional(),
      notNull: z.boolean({ error: 'must be true or false' }).default(false),
    }),
  ],
  { error: 'must be a PostgreSQL type name or { type, from?, notNull? }' },
);

const columnsSchema = z
  .record(z.string(), columnSchema, { error: 'must map column names to PostgreSQL types, e.g. { id: bigint, updated_at: timestamptz, customer: jsonb }' })
  .superRefine((cols, ctx) => {
    const names = Object.keys(cols);
    if (!names.length) ctx.addIssue({ code: 'custom', message: 'must declare at least one column, e.g. { id: bigint, data: jsonb }' });
    for (const name of names) {
      if (!IDENT_RE.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'column name must be a plain SQL identifier: letters, digits, "_" or "$", not starting with a digit' });
    }
  })
  .transform((cols) =>
    Object.entries(cols).map(([name, c]) => (typeof c === 'string' ? { name, type: c, from: name, notNull: false } : { name, type: c.type, from: c.from ?? name, notNull: c.notNull })),
  );

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Header and parameter names that carry credentials: their values must be ${NAME} references. */
const CREDENTIAL = /^(authorization|proxy-authorization|cookie)$|api[-_]?key|token|secret|password|signature/i;
const ENV_REF = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/;
const fromEnvOnly = (example: string) => `carries a credential, so its value must come from the worker's environment: write ${example} and export the variable where the worker runs (a literal would sit in the config file)`;

export const httpSourceSchema = z
  .strictObject({
    kind: z.literal('http'),
    /** the list endpoint, e.g. https://api.example.com/v1/orders (may contain ${NAME}) */
    url: z
      .string({ error: 'must be the URL of the list endpoint' })
      .min(1, 'must not be empty')
      .refine((u) => /^\$\{/.test(u) || /^https?:\/\//i.test(u), 'must be an http:// or https:// URL (or start with a ${NAME} reference)'),
    /** request headers; put secrets in ${NAME} references: "Bearer ${API_TOKEN}" */
    headers: z
      .record(z.string(), z.string({ error: 'must be a string (use ${NAME} for secrets)' }), { error: 'must map header names to values' })
      .superRefine((h, ctx) => {
        for (const k of Object.keys(h)) if (!headerName.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid HTTP header name' });
      })
      .default({}),
    /** extra query parameters sent with every request (e.g. sort: id, expand: customer) */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string, number or boolean' }).transform(String), { error: 'must map query parameter names to values' }).default({}),
    /** dot path of the records array in the body ("." when the body is the array itself) */
    records: z.union([z.literal('.'), path]).default('data'),
    pagination: paginationSchema,
    /** target columns: record fields (or dot paths) → PostgreSQL types */
    columns: columnsSchema,
    /** records per request; default: the integration's batchSize (at most pagination.maxPageSize) */
    pageSize: positiveInt('a whole number of records').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').optional(),
    /** per request (connect, headers and body) */
    timeout: duration.refine((ms) => ms >= 10, 'must be at least 10ms').default(30_000),
    /** attempts after the first failed one, per request, before the run fails (retryable: it resumes from the checkpoint) */
    retries: positiveInt('a whole number').min(0, 'must be 0 or more').max(100, 'must be at most 100').default(6),
    backoff: z
      .strictObject({ initial: duration.default(500), max: duration.default(30_000) }, { error: 'must be { initial: <duration>, max: <duration> }' })
      .refine((b) => b.max >= b.initial, { message: 'max must be at least initial', path: ['max'] })
      .default({ initial: 500, max: 30_000 }),
    /** requests per second to the URL's origin, shared by every integration of the worker calling it */
    requestsPerSecond: z.number({ error: 'must be a number of requests per second' }).positive('must be more than 0').max(10_000, 'must be at most 10000').optional(),
    /** page and time_window: changes newer than now - lag wait for the next run (late writes, clock skew) */
    lag: duration.optional(),
  })
  .superRefine((cfg, ctx) => {
    for (const [k, v] of Object.entries(cfg.headers)) {
      if (CREDENTIAL.test(k) && !ENV_REF.test(v)) ctx.addIssue({ code: 'custom', path: ['headers', k], message: fromEnvOnly(/^authorization$/i.test(k) ? '"Bearer ${API_TOKEN}"' : '"${API_KEY}"') });
    }
    for (const [k, v] of Object.entries(cfg.params)) {
      if (CREDENTIAL.test(k) && !ENV_REF.test(v)) ctx.addIssue({ code: 'custom', path: ['params', k], message: fromEnvOnly('"${API_KEY}"') });
    }
    const query = cfg.url.includes('?') ? new URLSearchParams(cfg.url.slice(cfg.url.indexOf('?') + 1)) : undefined;
    for (const [k, v] of query ?? []) {
      if (CREDENTIAL.test(k) && !ENV_REF.test(v)) ctx.addIssue({ code: 'custom', path: ['url'], message: `query parameter "${k}" ${fromEnvOnly(`${k}=\${API_KEY}`)}` });
    }
    const max = cfg.pagination.maxPageSize;
    if (cfg.pageSize !== undefined && max !== undefined && cfg.pageSize > max) {
      ctx.addIssue({ code: 'custom', path: ['pageSize'], message: `is ${cfg.pageSize}, more than pagination.maxPageSize (${max}), the API's largest page: an API serves at most that many per request, often without saying so; lower pageSize to at most ${max} (or raise maxPageSize if the API really serves more)` });
    }
    if (cfg.lag !== undefined && (cfg.pagination.style === 'cursor' || cfg.pagination.style === 'starting_after')) {
      ctx.addIssue({ code: 'custom', path: ['lag'], message: `applies only to pagination styles page and time_window (the API decides the range for style ${cfg.pagination.style}): remove it` });
    }
  })
  .transform((cfg) => ({ ...cfg, lag: cfg.lag ?? 0 }));

export type HttpSourceConfig = z.infer<typeof httpSourceSchema>;
export type HttpPagination = z.infer<typeof paginationSchema>;
export type HttpColumn = HttpSourceConfig['columns'][number];
