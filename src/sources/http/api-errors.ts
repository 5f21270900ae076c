import type { HttpResponsePolicy } from '../../config/http-response-schema';
import { ApiCredentialsRefusedError, HttpSourceError } from './http-errors';
import { getPath } from './json-path';

/**
 * An API that answers 200 with an error (GraphQL's `errors` list, Slack's `{"ok": false, "error": "…"}`) has not
 * given the page, or not all of it, even beside data: `source.responses.errors` names where it writes it. One of
 * `authErrors` fails as refused credentials (an instance becomes needs_reauth), anything else fails the run.
 */
export function throwApiErrors(body: unknown, policy: HttpResponsePolicy, url: string, method: string, redact: (s: string) => string): void {
  if (policy.errors === undefined) return;
  const value = getPath(body, policy.errors);
  // Nothing there, or an empty one: an API may always send the field ("errors": [] / {} / 0 on success).
  if (value === undefined || value === null || value === false || value === '' || value === 0) return;
  if (typeof value === 'object' && Object.keys(value).length === 0) return;
  const refused = policy.authErrors && codesOf(value).find((c) => policy.authErrors?.includes(c));
  if (refused) throw new ApiCredentialsRefusedError(refused, url, method);
  throw new HttpSourceError('responses.errors', `the API answered with errors: ${redact(JSON.stringify(value).slice(0, 500))}`, url, method);
}

/** The error values a code list can match: a string itself; a list's strings, and its objects' code or extensions.code. */
function codesOf(value: unknown): string[] {
  const one = (v: unknown): string[] => {
    if (typeof v === 'string') return [v];
    if (v && typeof v === 'object') {
      const o = v as { code?: unknown; extensions?: { code?: unknown } };
      return [o.code, o.extensions?.code].filter((c): c is string => typeof c === 'string');
    }
    return [];
  };
  return Array.isArray(value) ? value.flatMap(one) : one(value);
}
