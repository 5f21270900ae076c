import { z } from 'zod';
import { path, shapeError } from './http-schema-parts';

/**
 * `source.responses` of `kind: http`: what each non-2xx status means. Defaults: 408, 425, 429 and 5xx
 * (but 501, 505) are retried with backoff; 429, and GitHub's 403 with `x-ratelimit-remaining: 0` or with Retry-After, are
 * "rate limited": the wait is read from Retry-After, x-ratelimit-reset (epoch seconds) or RateLimit-Reset
 * (seconds), whichever comes first; every other status fails the run (non-retryable).
 */
const status = z.number({ error: 'must be an HTTP status code such as 429' }).int('must be an HTTP status code').min(300, 'must be a status from 300 to 599 (2xx are answers)').max(599, 'must be a status from 300 to 599');

const headerName = z.string({ error: 'must be a header name' }).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid HTTP header name').transform((h) => h.toLowerCase());

/**
 * A status that means "rate limited", optionally only when a header has a given value (GitHub: 403 +
 * x-ratelimit-remaining: 0) or, without `equals`, only when the header is present (GitHub's secondary limit: 403 +
 * Retry-After).
 */
const rateRule = z.union([status.transform((s): { status: number; header?: string; equals?: string } => ({ status: s })), z.strictObject({ status, header: headerName.optional(), equals: z.string({ error: 'must be the header value as text, e.g. "0"' }).optional() })], {
  error: 'must be a status (429) or { status, header, equals } (e.g. { status: 403, header: x-ratelimit-remaining, equals: "0" })',
}).superRefine((r, ctx) => {
  if (r.header === undefined && r.equals !== undefined) ctx.addIssue({ code: 'custom', path: ['equals'], message: 'needs header: the status means rate limited only when that header has that value' });
});

/** How a header tells the wait: Retry-After (seconds or an HTTP date), an epoch time, or seconds from now. */
const waitRule = z.strictObject({
  header: headerName,
  format: z.enum(['retry-after', 'epoch_seconds', 'epoch_ms', 'seconds'], { error: 'must be retry-after | epoch_seconds | epoch_ms | seconds' }),
});

/** 429; GitHub's primary limit (403, x-ratelimit-remaining: 0) and its secondary one (403 with Retry-After). */
export const DEFAULT_RATE_LIMITED = [{ status: 429 }, { status: 403, header: 'x-ratelimit-remaining', equals: '0' }, { status: 403, header: 'retry-after' }];
export const DEFAULT_WAIT = [
  { header: 'retry-after', format: 'retry-after' as const },
  { header: 'x-ratelimit-reset', format: 'epoch_seconds' as const },
  { header: 'ratelimit-reset', format: 'seconds' as const },
];

export const responsesSchema = z
  .strictObject(
    {
      /** statuses retried with backoff (default: 408, 425, 429, 5xx but 501 and 505) */
      retry: z.array(status, { error: 'must be a list of statuses, e.g. [429, 500, 502, 503, 504]' }).optional(),
      /** statuses that mean "rate limited": wait as the headers say (else back off), then retry */
      rateLimited: z.array(rateRule, { error: 'must be a list of statuses or { status, header, equals }' }).default(DEFAULT_RATE_LIMITED),
      /** where the wait is read, first header present wins */
      wait: z.array(waitRule, { error: 'must be a list of { header, format }' }).default(DEFAULT_WAIT),
      /** statuses read as an empty page (the list ends there), e.g. 404 for a list that may not exist yet */
      skip: z.array(status, { error: 'must be a list of statuses, e.g. [404]' }).default([]),
      /**
       * body path of an API-level error in a 200 answer: GraphQL's `errors` list, Slack's `error` string. Anything there
       * but null, false, "" or [] fails the run, even beside data.
       */
      errors: path.optional(),
      /**
       * values of `errors` that mean the API refuses the credentials (Slack: invalid_auth, token_revoked): the run fails
       * as a 401 would, and an instance becomes needs_reauth. A list's item matches by itself, its `code` or `extensions.code`.
       */
      authErrors: z.array(z.string({ error: 'must be an error value as text, e.g. token_revoked' }).min(1, 'must not be empty'), { error: 'must be a list of error values, e.g. [invalid_auth, token_revoked]' }).optional(),
    },
    shapeError('must be { retry?, rateLimited?, wait?, skip?, errors?, authErrors? }'),
  )
  .superRefine((p, ctx) => {
    if (p.authErrors && p.errors === undefined) ctx.addIssue({ code: 'custom', path: ['authErrors'], message: 'needs responses.errors: the body path the API writes its error to (Slack: error)' });
    const skip = new Set(p.skip);
    for (const s of p.retry ?? []) if (skip.has(s)) ctx.addIssue({ code: 'custom', path: ['skip'], message: `${s} is also in retry: a status is either retried or skipped` });
    for (const r of p.rateLimited) if (skip.has(r.status) && !r.header) ctx.addIssue({ code: 'custom', path: ['skip'], message: `${r.status} is also in rateLimited: a status is either waited for or skipped` });
  })
  .default({ rateLimited: DEFAULT_RATE_LIMITED, wait: DEFAULT_WAIT, skip: [] });

export type HttpResponsePolicy = z.infer<typeof responsesSchema>;
