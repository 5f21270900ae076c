import jsonata from 'jsonata';
import { freeNames } from './jsonata-names';
import { z } from 'zod';
import { HEADER_NAME, jsonataExpression, shapeError } from './http-schema-parts';

/**
 * `source.request` of `kind: http`: where the pagination values go, as JSONata expressions (the
 * language AWS Step Functions adopted), compiled once: query parameters, headers, the URL path and a
 * JSON body, with `method: POST` for search endpoints (HubSpot), GraphQL (query + variables) and
 * SOQL in a parameter (Salesforce). The variables a style provides are listed in TEMPLATE_VARIABLES;
 * a template naming any other fails the config before anything runs. With a request block, the
 * style's own parameters (param, limitParam, sinceParam, fromParam, …) are not added: every value
 * goes where the templates put it.
 */
export const TEMPLATE_VARIABLES = {
  cursor: ['cursor', 'limit'],
  starting_after: ['cursor', 'limit'],
  page: ['since', 'page', 'limit'],
  offset: ['since', 'offset', 'limit', 'anchor'],
  time_window: ['from', 'to', 'limit'],
  link_header: ['since', 'limit'],
  next_url: ['since', 'limit'],
  time_slices: ['from', 'to', 'cursor', 'offset', 'limit'],
  feed: ['cursor', 'offset', 'limit'],
} as const;

/** A JSONata expression, checked for syntax here (its variables are checked against the style by the source schema). */
const expression = jsonataExpression('must be a JSONata expression (a quoted literal is \'"text"\')');


export const requestSchema = z.strictObject(
  {
    method: z.enum(['GET', 'POST'], { error: 'must be GET or POST' }).default('GET'),
    /** query parameters: name → expression (added to source.params) */
    params: z.record(z.string(), expression, { error: 'must map parameter names to JSONata expressions' }).default({}),
    /** headers: name → expression (added to source.headers; credentials stay in source.headers as ${NAME}) */
    headers: z
      .record(z.string(), expression, { error: 'must map header names to JSONata expressions' })
      .superRefine((h, ctx) => {
        for (const k of Object.keys(h)) if (!HEADER_NAME.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid HTTP header name' });
      })
      .default({}),
    /** the URL path, replacing source.url's (e.g. "'/v1/accounts/' & $cursor & '/events'") */
    path: expression.optional(),
    /** the JSON body (POST), e.g. '{ "query": "…", "variables": { "after": $cursor } }' */
    body: expression.optional(),
  },
  shapeError('must be { method?, params?, headers?, path?, body? }'),
);

export type HttpRequestTemplates = z.infer<typeof requestSchema>;

/** Every `$name` an expression reads as a value that it does not bind itself (see freeNames), once each. */
export function variablesOf(text: string): string[] {
  return [...new Set(freeNames(jsonata(text).ast()).variables.map((v) => v.name))];
}
