import { z } from 'zod';
import { isBoundedPagination, maxPageSizeOf, paginationSchema } from './http-pagination-schema';
import { requestSchema, TEMPLATE_VARIABLES, variablesOf, type HttpRequestTemplates } from './http-request-schema';
import { httpAuthSchema } from './http-auth-schema';
import { checkChildStream, parentFieldsSchema, parentSchema, templatesOf } from './http-child-schema';
import { responsesSchema } from './http-response-schema';
import { duration, ENV_REF, httpUrl, path, positiveInt, requestBackoff, requestRetries, requestsPerSecond, requestTimeout, staticHeaders, timeFormat } from './http-schema-parts';
import { IDENT_RE } from './identifiers';
import { refuseIgnoredKeys } from './http-ignored-keys';

/**
 * `kind: http` — a JSON API read page by page (see src/sources/http). Everything the source needs is
 * declared here; types are inferred. Strings may hold `${NAME}` references (url, headers, params):
 * they are resolved in the worker only, so tokens never reach workflow history or the cursor.
 */

const pgType = z.string({ error: 'must be a PostgreSQL type name, e.g. text, bigint, jsonb' }).regex(/^[a-z][a-z0-9 _(),]*$/i, 'must be a PostgreSQL type name, e.g. text, bigint, numeric(12,2), timestamptz, jsonb');

const columnSchema = z.union(
  [
    pgType,
    z.strictObject({
      type: pgType,
      /** dot path in the record; default: the field of the column's name */
      from: path.optional(),
      notNull: z.boolean({ error: 'must be true or false' }).default(false),
      /** the value is a time in this format (epoch_ms, …): written as exact ISO-8601 text */
      format: timeFormat.optional(),
    }),
  ],
  { error: 'must be a PostgreSQL type name or { type, from?, notNull?, format? }' },
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
    Object.entries(cols).map(([name, c]) => (typeof c === 'string' ? { name, type: c, from: name, notNull: false } : { name, type: c.type, from: c.from ?? name, notNull: c.notNull, ...(c.format ? { format: c.format } : {}) })),
  );

/** Header and parameter names that carry credentials: their values must be ${NAME} references. */
const CREDENTIAL = /^(authorization|proxy-authorization|cookie)$|api[-_]?key|token|secret|password|signature/i;
const fromEnvOnly = (example: string) => `carries a credential, so its value must come from the worker's environment: write ${example} and export the variable where the worker runs (a literal would sit in the config file)`;

/** Templates read only the variables their pagination style provides (and $parent in a child stream); a body needs POST. */
function checkTemplates(r: HttpRequestTemplates, style: keyof typeof TEMPLATE_VARIABLES, child: boolean, ctx: z.RefinementCtx): void {
  const allowed: readonly string[] = TEMPLATE_VARIABLES[style];
  for (const [at, text] of templatesOf(r)) {
    let vars: string[];
    try {
      vars = variablesOf(text);
    } catch {
      continue; // a syntax error, reported by the field itself
    }
    for (const v of vars) {
      // $parent is checked by checkChildStream (declared fields, only with source.parent).
      if (v === 'parent') continue;
      if (!allowed.includes(v)) ctx.addIssue({ code: 'custom', path: at, message: `references $${v}, which pagination style ${style} does not provide: use ${[...allowed, ...(child ? ['parent'] : [])].map((a) => `$${a}`).join(', ')}` });
    }
  }
  if (r.body !== undefined && r.method !== 'POST') ctx.addIssue({ code: 'custom', path: ['request', 'method'], message: 'must be POST with a request.body (a GET sends no body)' });
}

/** Whether any template reads $since (a next-link style then reads in passes, like with a sinceParam). */
export function templatesUseSince(r: HttpRequestTemplates | undefined): boolean {
  return templatesUse(r, 'since');
}

/** Whether any template reads `$name`. */
export function templatesUse(r: HttpRequestTemplates | undefined, name: string): boolean {
  if (!r) return false;
  return [...Object.values(r.params), ...Object.values(r.headers), r.path ?? '', r.body ?? ''].some((t) => {
    try {
      return variablesOf(t).includes(name);
    } catch {
      return false;
    }
  });
}

export const httpSourceSchema = z.preprocess(
  refuseIgnoredKeys,
  z
    .strictObject({
      kind: z.literal('http'),
      /** the list endpoint, e.g. https://api.example.com/v1/orders (may contain ${NAME}) */
      url: httpUrl('the URL of the list endpoint'),
      /** request headers; put secrets in ${NAME} references: "Bearer ${API_TOKEN}" */
      headers: staticHeaders,
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
      timeout: requestTimeout,
      /** attempts after the first failed one, per request, before the run fails (retryable: it resumes from the checkpoint) */
      retries: requestRetries,
      backoff: requestBackoff,
      /** requests per second to the URL's origin, shared by every integration of the worker calling it */
      requestsPerSecond,
      /** where pagination values go (query, headers, path, JSON body) and the method: JSONata templates, see http-request-schema */
      request: requestSchema.optional(),
      /** what each non-2xx status means: retried, rate limited (and where to read the wait), skipped; see http-response-schema */
      responses: responsesSchema,
      /** credentials: basic, bearer, api_key, or OAuth2 (client credentials, refresh token); see http-auth-schema */
      auth: httpAuthSchema.optional(),
      /** bounded styles (see isBoundedPagination): changes newer than now - lag wait for the next run (late writes, clock skew) */
      lag: duration.optional(),
      /** a child stream: the parent list whose records each select a child list (see http-child-schema) */
      parent: parentSchema.optional(),
      /** child columns copied from the parent's fields, e.g. { repo: full_name } */
      parentFields: parentFieldsSchema.optional(),
    })
    .superRefine((cfg, ctx) => {
      // One source of each credential: a header or parameter that `auth` sets too would be overwritten silently.
      const auth = cfg.auth;
      if (auth) {
        const setsHeader = auth.type === 'api_key' ? (auth.in === 'header' ? auth.name.toLowerCase() : undefined) : 'authorization';
        for (const k of Object.keys(cfg.headers)) {
          if (k.toLowerCase() === setsHeader) ctx.addIssue({ code: 'custom', path: ['headers', k], message: `conflicts with source.auth (type ${auth.type}), which sets it: remove one` });
        }
        if (auth.type === 'api_key' && auth.in === 'query' && auth.name in cfg.params) {
          ctx.addIssue({ code: 'custom', path: ['params', auth.name], message: `conflicts with source.auth (type api_key), which sets it: remove one` });
        }
      }
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
      const max = maxPageSizeOf(cfg.pagination);
      if (cfg.pageSize !== undefined && max !== undefined && cfg.pageSize > max) {
        ctx.addIssue({ code: 'custom', path: ['pageSize'], message: `is ${cfg.pageSize}, more than pagination.maxPageSize (${max}), the API's largest page: an API serves at most that many per request, often without saying so; lower pageSize to at most ${max} (or raise maxPageSize if the API really serves more)` });
      }
      if (cfg.request) checkTemplates(cfg.request, cfg.pagination.style, cfg.parent !== undefined, ctx);
      if (cfg.pagination.style === 'offset' && cfg.pagination.maxOffset !== undefined && !templatesUse(cfg.request, 'anchor')) {
        ctx.addIssue({ code: 'custom', path: ['pagination', 'maxOffset'], message: 'needs request templates that read $anchor (e.g. a filter "id > $anchor" in the body): the search after maxOffset starts after the last record read' });
      }
      checkChildStream(cfg, ctx);
      const parentBounded = cfg.parent !== undefined && isBoundedPagination(cfg.parent.pagination);
      if (cfg.lag !== undefined && !parentBounded && !isBoundedPagination(cfg.pagination, templatesUseSince(cfg.request))) {
        ctx.addIssue({ code: 'custom', path: ['lag'], message: `applies only to bounded pagination styles: page, offset, time_window, time_slices, and link_header/next_url with a since filter (the API decides the range for style ${cfg.pagination.style}): remove it` });
      }
    })
    .transform((cfg) => ({ ...cfg, lag: cfg.lag ?? 0 })),
);

export type HttpSourceConfig = z.infer<typeof httpSourceSchema>;
export type { HttpPagination } from './http-pagination-schema';
export type HttpColumn = HttpSourceConfig['columns'][number];
