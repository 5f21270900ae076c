import type { z } from 'zod';

/**
 * Keys of `source.pagination` that parse but would do nothing where they are written. Their defaults look the
 * same as written values once parsed, so this looks at the raw config, before defaults: a key the user wrote
 * and tidemark would ignore is an error naming it, never a silent no-op.
 *  - With `source.request`, the templates decide every parameter: the style's own parameter names are not sent.
 *  - `endFlag` replaces `hasMore` (an inverted flag read instead): writing both leaves one unread.
 */

/** A style's parameter-name key → the template variable that carries its value instead. */
const SENT_BY_TEMPLATES: Record<string, string> = { param: '$cursor', limitParam: '$limit', sinceParam: '$since', fromParam: '$from', toParam: '$to' };
/** What `param` carries in each style that has one. */
const PARAM_VARIABLE: Record<string, string> = { page: '$page', offset: '$offset' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function refuseIgnoredKeys(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (!isObject(raw) || !isObject(raw.pagination)) return raw;
  const withRequest = raw.request !== undefined;
  const check = (p: Record<string, unknown>, at: string[]): void => {
    if (withRequest) {
      for (const [key, sent] of Object.entries(SENT_BY_TEMPLATES)) {
        if (p[key] === undefined) continue;
        const variable = key === 'param' ? (PARAM_VARIABLE[String(p.style)] ?? sent) : sent;
        ctx.addIssue({ code: 'custom', path: [...at, key], input: p[key], message: `is not sent with source.request (the templates decide every parameter): remove it and put ${variable} where the API takes it, e.g. request.params: { ${JSON.stringify(p[key])}: "${variable}" }` });
      }
    }
    if (p.endFlag !== undefined && p.hasMore !== undefined) {
      ctx.addIssue({ code: 'custom', path: [...at, 'hasMore'], input: p.hasMore, message: 'is not read with endFlag (the end flag is read instead of the more flag): keep the one the API sends' });
    }
  };
  check(raw.pagination, ['pagination']);
  if (isObject(raw.pagination.inner)) check(raw.pagination.inner, ['pagination', 'inner']);
  return raw;
}
