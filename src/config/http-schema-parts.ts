import jsonata from 'jsonata';
import { z } from 'zod';
import { duration } from './duration';
import { checkPattern, type TimeFormat } from './time-pattern';

/** Building blocks shared by the http source's schemas (duration re-exported from duration.ts). */
export { duration };

const ISO_TIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)$/;
export const isoTime = z
  .string({ error: 'must be an ISO-8601 timestamp such as "2024-01-01T00:00:00Z"' })
  .regex(ISO_TIME, 'must be an ISO-8601 timestamp with a time zone, such as "2024-01-01T00:00:00Z"')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a valid date');

/** A query parameter name. */
export const param = z.string({ error: 'must be the name of a query parameter' }).regex(/^[A-Za-z0-9_.\-[\]]{1,100}$/, 'must be the name of a query parameter (letters, digits, "_", "-", ".", "[", "]")');
/** A dot path into a JSON object, e.g. "data" or "meta.next_cursor". */
export const path = z.string({ error: 'must be a dot path into the JSON body, e.g. "data" or "meta.next"' }).regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path into the JSON body, e.g. "data" or "meta.next"');
export const positiveInt = (what: string) => z.number({ error: `must be ${what}` }).int(`must be ${what}`);
/** The API's largest page, as its documentation declares it (e.g. GitHub and Stripe 100, Shopify 250). */
export const maxPageSize = positiveInt('a whole number of records').min(1, 'must be at least 1').max(100_000, 'must be at most 100000');

const TIME_FORMATS = ['iso', 'epoch_seconds', 'epoch_ms', 'date'] as const;
/** How a time is written: iso | epoch_seconds | epoch_ms | date | a strftime-like pattern such as "%Y-%m-%d %H:%M:%S". */
export const timeFormat = z
  .string({ error: 'must be iso | epoch_seconds | epoch_ms | date or a pattern such as "%Y-%m-%d %H:%M:%S"' })
  .transform((v, ctx): TimeFormat => {
    if ((TIME_FORMATS as readonly string[]).includes(v)) return v as (typeof TIME_FORMATS)[number];
    if (!v.includes('%')) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a time format: use iso | epoch_seconds | epoch_ms | date or a pattern with %Y, %m, %d, … such as "%Y-%m-%d %H:%M:%S"` });
      return z.NEVER;
    }
    const problem = checkPattern(v);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `"${v}": ${problem}` });
      return z.NEVER;
    }
    return { pattern: v };
  });

/**
 * How an HTTP source or sink makes one request: its timeout, retries with jittered backoff, and the origin's rate.
 * One set of schemas, so the two read the same settings the same way.
 */
export const requestTimeout = duration.refine((ms) => ms >= 10, 'must be at least 10ms').default(30_000);
export const requestRetries = positiveInt('a whole number').min(0, 'must be 0 or more').max(100, 'must be at most 100').default(6);
export const requestBackoff = z
  .strictObject({ initial: duration.default(500), max: duration.default(30_000) }, shapeError('must be { initial: <duration>, max: <duration> }'))
  .refine((b) => b.max >= b.initial, { message: 'max must be at least initial', path: ['max'] })
  .default({ initial: 500, max: 30_000 });
export const requestsPerSecond = z.number({ error: 'must be a number of requests per second' }).positive('must be more than 0').max(10_000, 'must be at most 10000').optional();

/** A `${NAME}` reference (a value from the worker's environment). */
export const ENV_REF = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/;
/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An http(s) URL, or one that starts with a ${NAME} reference (resolved in the worker). `what`: the URL's role. */
/** A URL with user:password: fetch refuses it, and the password would show in messages (checked again once resolved). */
export const USERINFO_REFUSED = 'holds a user name or password ("https://user:…@host"): put them in auth: { type: basic, username, password } instead';

export const httpUrl = (what: string) =>
  z
    .string({ error: `must be ${what}` })
    .min(1, 'must not be empty')
    .refine((u) => /^\$\{/.test(u) || /^https?:\/\//i.test(u), 'must be an http:// or https:// URL (or start with a ${NAME} reference)')
    .refine((u) => !/^https?:\/\/[^/?#]*@/i.test(u), USERINFO_REFUSED);

/** Static request headers (sources and sinks alike); credentials as ${NAME} references, checked by each schema. */
export const staticHeaders = z
  .record(z.string(), z.string({ error: 'must be a string (use ${NAME} for secrets)' }), { error: 'must map header names to values' })
  .superRefine((h, ctx) => {
    for (const k of Object.keys(h)) if (!HEADER_NAME.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid HTTP header name' });
  })
  .default({});

/** A JSONata expression, its syntax checked once here (its variables by the schema using it). `typeError`: the message for a non-string. */
export const jsonataExpression = (typeError: string) =>
  z.string({ error: typeError }).superRefine((text, ctx) => {
    try {
      jsonata(text);
    } catch (err) {
      const e = err as { message?: string; position?: number };
      ctx.addIssue({ code: 'custom', message: `is not a valid JSONata expression: ${e.message ?? String(err)}${e.position !== undefined ? ` (at character ${e.position})` : ''}` });
    }
  });

/**
 * An object schema's error: an unknown key is named (a typo such as `parms`), anything else reads `shape`.
 */
export function shapeError(shape: string) {
  return {
    error: (iss: { code?: string; keys?: string[] }) =>
      iss.code === 'unrecognized_keys' && iss.keys?.length ? `unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')}: ${shape}` : shape,
  };
}
