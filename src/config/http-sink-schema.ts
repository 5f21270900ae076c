import { z } from 'zod';
import { duration } from './duration';
import { httpAuthSchema } from './http-auth-schema';
import { fieldsRead } from './jsonata-fields';
import { variablesOf } from './http-request-schema';
import { responsesSchema } from './http-response-schema';
import { ENV_REF, HEADER_NAME, httpUrl, jsonataExpression, positiveInt, requestBackoff, requestRetries, requestsPerSecond, requestTimeout, staticHeaders, shapeError } from './http-schema-parts';

/**
 * `sink: { kind: http, … }`: each mapped record is sent to an API (per record, or N per request with
 * `bulk`), at most `concurrency` requests in flight, with an idempotency key per record version, and a
 * delivery ledger (tidemark.deliveries, in `stateUrl`) committed with the checkpoint. See src/sinks/http.
 */
export const HTTP_SINK_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The $variables each mode's templates may read (besides the record's fields, per record). */
export const SINK_TEMPLATE_VARIABLES = {
  record: ['record', 'key', 'idempotencyKey'],
  bulk: ['records', 'keys', 'idempotencyKeys', 'idempotencyKey'],
  /** sink.bulk.results, over the answer's body */
  results: ['status', 'records'],
} as const;

/** 4xx answers that are about the record (its content), so it goes to dead letters and the run goes on. */
export const DEFAULT_DEAD_LETTER_STATUSES = [400, 409, 410, 412, 413, 422];

const CREDENTIAL = /^(authorization|proxy-authorization|x-api-key|api-key|apikey|x-auth-token|cookie)$/i;


const expression = jsonataExpression('must be a JSONata expression over the record (a quoted literal is \'"text"\')');

const headerName = z.string({ error: 'must be a header name' }).regex(HEADER_NAME, 'must be a valid HTTP header name');

const status4xx = z.number({ error: 'must be an HTTP status such as 422' }).int('must be an HTTP status').min(400, 'must be a 4xx status (the record was refused)').max(499, 'must be a 4xx status (the record was refused)');

/**
 * `sink.deletes`: as `deletes` of a PostgreSQL sink (the same names), but the target is the delivery ledger:
 * a key the ledger holds and the source no longer has is sent as DELETE and leaves the ledger.
 */
export const httpSinkDeletesSchema = z.strictObject(
  {
    /** how often a scheduled sync also reconciles (compares the ledger's keys with the source's) */
    reconcileEvery: duration.refine((ms) => ms >= 60_000, 'must be at least 1m'),
    /** a reconciliation refuses to delete more than this fraction of the ledger without --force-deletes */
    maxFraction: z.number({ error: 'must be a fraction such as 0.1' }).gt(0, 'must be more than 0').max(1, 'must be at most 1').default(0.1),
    /** JSONata over the record's key fields giving the DELETE's path (appended to url's path); default sink.path */
    path: expression.optional(),
  },
  shapeError('must be { reconcileEvery, maxFraction?, path? }'),
);

export const httpSinkSchema = z
  .strictObject(
    {
      kind: z.literal('http'),
      /** the API's base URL, e.g. https://api.example.com/v1/customers (may contain ${NAME}); `path` is appended to its path */
      url: httpUrl('the URL records are sent to'),
      method: z
        .string({ error: 'must be POST, PUT, PATCH or DELETE' })
        .transform((m) => m.toUpperCase())
        .pipe(z.enum(HTTP_SINK_METHODS, { error: (iss) => `is ${JSON.stringify(iss.input)}, which an HTTP sink does not send: use POST, PUT, PATCH or DELETE` }))
        .default('POST'),
      /** JSONata over the record (bulk: $records), appended to url's path, e.g. "'/' & id" */
      path: expression.optional(),
      /** JSONata building the JSON body; default: the record itself (bulk: the array of records); DELETE: no body */
      body: expression.optional(),
      /** static headers; credentials as ${NAME} references */
      headers: staticHeaders,
      /**
       * 'per-record' (default): one request per record; { size: N }: N records per request body, and
       * `results`: JSONata over an accepted answer's body giving one { status, message? } per record, in order
       */
      bulk: z
        .union(
          [
            z.literal('per-record'),
            z.strictObject({
              size: positiveInt('a whole number of records').min(2, 'must be at least 2 (or use bulk: per-record)').max(10_000, 'must be at most 10000'),
              results: expression.optional(),
            }),
          ],
          { error: 'must be per-record or { size: N, results? } (N records per request)' },
        )
        .default('per-record'),
      /** requests in flight at once */
      concurrency: positiveInt('a whole number of requests in flight').min(1, 'must be from 1 to 64 requests in flight').max(64, 'must be from 1 to 64 requests in flight').default(4),
      /** the header carrying the idempotency key (a hash of the integration, the record key and the record's content) */
      idempotencyHeader: headerName.default('Idempotency-Key'),
      /** record fields that identify a record at the API (its key in the delivery ledger) */
      key: z.array(z.string({ error: 'must be a record field name' }).min(1, 'must be a record field name'), { error: 'must be a list of record fields, e.g. [id]' }).min(1, 'needs at least one key field, e.g. [id]'),
      auth: httpAuthSchema.optional(),
      /** per request (connect, headers and body) */
      timeout: requestTimeout,
      /** attempts after the first failed one, per request, before the page fails (it is retried from the checkpoint) */
      retries: requestRetries,
      backoff: requestBackoff,
      /** requests per second to the URL's origin, shared by every integration of the worker calling it */
      requestsPerSecond,
      /** which non-2xx answers are retried or rate limits (as for HTTP sources) */
      responses: responsesSchema,
      /** 4xx statuses that refuse the record (dead letter, the run goes on); any other 4xx fails the page */
      deadLetterStatuses: z.array(status4xx, { error: 'must be a list of 4xx statuses, e.g. [400, 422]' }).default(DEFAULT_DEAD_LETTER_STATUSES),
      /** the state database (delivery ledger, checkpoints, dead letters) */
      stateUrl: z.string({ error: 'must be the URL of the state database' }).min(1, 'must not be empty').default('${DATABASE_URL}'),
      /** records gone from the source (a PostgreSQL source's reconciliation against the delivery ledger) are sent as DELETE */
      deletes: httpSinkDeletesSchema.optional(),
    },
    shapeError('must be { kind: http, url, key, method?, path?, body?, headers?, bulk?, concurrency?, idempotencyHeader?, auth?, timeout?, retries?, backoff?, requestsPerSecond?, responses?, deadLetterStatuses?, stateUrl?, deletes? }'),
  )
  .superRefine((cfg, ctx) => {
    if (cfg.deletes) {
      // A DELETE is built from the ledger's record key alone: its path may read only the key fields.
      const path = cfg.deletes.path ?? (cfg.bulk === 'per-record' ? cfg.path : undefined);
      const where = cfg.deletes.path !== undefined ? ['deletes', 'path'] : cfg.path !== undefined && cfg.bulk === 'per-record' ? ['path'] : ['deletes'];
      if (path === undefined) {
        ctx.addIssue({ code: 'custom', path: where, message: `needs deletes.path: the path of the DELETE naming one record by its key (e.g. "'/' & ${cfg.key[0] ?? 'id'}")${cfg.bulk === 'per-record' ? '' : ' (sink.path is a bulk request\'s)'}` });
      } else {
        let read: string[] = [];
        try {
          read = fieldsRead(path, false);
        } catch {
          // a syntax error is reported by the field itself
        }
        const other = read.filter((f) => !cfg.key.includes(f));
        if (other.length) {
          ctx.addIssue({ code: 'custom', path: where, message: `reads ${other.map((f) => `"${f}"`).join(', ')}, but a DELETE knows only the record's key (${cfg.key.join(', ')}): ${cfg.deletes.path !== undefined ? 'use key fields only' : 'set deletes.path using key fields only'}` });
        }
      }
    }
    const mode = cfg.bulk === 'per-record' ? 'record' : 'bulk';
    const allowed: readonly string[] = SINK_TEMPLATE_VARIABLES[mode];
    for (const field of ['path', 'body'] as const) {
      const text = cfg[field];
      if (text === undefined) continue;
      let vars: string[];
      try {
        vars = variablesOf(text);
      } catch {
        continue; // the syntax issue is reported by the field itself
      }
      for (const v of vars.filter((x) => !allowed.includes(x))) {
        const hint = mode === 'bulk' ? 'with bulk, a request carries many records: read them from $records' : 'per record, read fields directly (e.g. id) or from $record';
        ctx.addIssue({ code: 'custom', path: [field], message: `uses $${v}, which is not defined: the ${mode === 'bulk' ? 'bulk' : 'per-record'} templates have ${allowed.map((a) => `$${a}`).join(', ')} (${hint})` });
      }
    }
    const results = cfg.bulk === 'per-record' ? undefined : cfg.bulk.results;
    if (results !== undefined) {
      let vars: string[] = [];
      try {
        vars = variablesOf(results);
      } catch {
        // reported by the field itself
      }
      for (const v of vars.filter((x) => !(SINK_TEMPLATE_VARIABLES.results as readonly string[]).includes(x))) {
        ctx.addIssue({ code: 'custom', path: ['bulk', 'results'], message: `uses $${v}, which is not defined: it reads the answer's body, with $status (the HTTP status) and $records (the request's records)` });
      }
    }
    for (const [k, v] of Object.entries(cfg.headers)) {
      if (CREDENTIAL.test(k) && !ENV_REF.test(v)) ctx.addIssue({ code: 'custom', path: ['headers', k], message: 'is a credential, so its value must come from the worker\'s environment: write e.g. "Bearer ${API_TOKEN}"' });
      if (k.toLowerCase() === cfg.idempotencyHeader.toLowerCase()) ctx.addIssue({ code: 'custom', path: ['headers', k], message: `is the idempotency header (idempotencyHeader), which tidemark sets per record: remove it` });
    }
    if (cfg.auth) {
      const setsHeader = cfg.auth.type === 'api_key' ? (cfg.auth.in === 'header' ? cfg.auth.name.toLowerCase() : undefined) : 'authorization';
      for (const k of Object.keys(cfg.headers)) {
        if (k.toLowerCase() === setsHeader) ctx.addIssue({ code: 'custom', path: ['headers', k], message: `conflicts with sink.auth (type ${cfg.auth.type}), which sets it: remove one` });
      }
    }
    for (const [i, s] of cfg.deadLetterStatuses.entries()) {
      if (s === 401 || s === 403 || s === 407) {
        ctx.addIssue({ code: 'custom', path: ['deadLetterStatuses', i], message: `${s} means the credentials are refused, which no record can fix: every record would become a dead letter. Remove it (a ${s} fails the run, naming sink.auth)` });
      }
      if (s === 429 || cfg.responses.rateLimited.some((r) => r.status === s && r.header === undefined) || (cfg.responses.retry ?? []).includes(s)) {
        ctx.addIssue({ code: 'custom', path: ['deadLetterStatuses', i], message: `${s} is retried (sink.responses): a status is either retried or refused` });
      }
    }
    if (cfg.method === 'DELETE' && mode === 'record' && cfg.path === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'is required with method DELETE per record: the path names the record to delete (e.g. "\'/\' & id")' });
    }
  });

export type HttpSinkConfig = z.infer<typeof httpSinkSchema>;
export type HttpSinkDeletesConfig = z.infer<typeof httpSinkDeletesSchema>;
