import type { HttpRequestTemplates } from '../../../config/http-request-schema';
import type { HttpSourceConfig } from '../../../config/http-source-schema';
import type { ParentConfig } from '../../../config/http-child-schema';
import { maxPageSizeOf } from '../../../config/http-pagination-schema';
import type { ResolveEnv } from '../http-source';

/** A parent's declared fields (source.parent.fields), as JSON values: what the child's templates read as $parent. */
export type ParentFields = Record<string, unknown>;

/**
 * The parent list as an http source of its own: the child stream's connection settings (auth, headers,
 * timeouts, retries, response policy, rate) with the parent block's path, params, records and
 * pagination; one jsonb column per declared field, so values come back as the JSON the API sent.
 */
export function parentSourceConfig(cfg: HttpSourceConfig, p: ParentConfig): HttpSourceConfig {
  const { parent: _p, parentFields: _f, request: _r, pageSize: _s, ...shared } = cfg;
  return {
    ...shared,
    params: p.params,
    records: p.records,
    pagination: p.pagination,
    ...(p.pageSize !== undefined ? { pageSize: p.pageSize } : {}),
    columns: Object.entries(p.fields).map(([name, from]) => ({ name, type: 'jsonb', from, notNull: false })),
  };
}

/** Parents per request: parent.pageSize, else the API's largest page, else 100. */
export function parentPageSize(p: ParentConfig): number {
  return p.pageSize ?? Math.min(maxPageSizeOf(p.pagination) ?? 100, 1000);
}

/** source.url resolved, with its path replaced by parent.path (its query added): parent and child share the origin and credentials. */
export function parentResolve(cfg: HttpSourceConfig, p: ParentConfig, resolve: ResolveEnv): ResolveEnv {
  return (value, field) => {
    const resolved = resolve(value, field);
    if (field !== 'url' || value !== cfg.url) return resolved;
    let url: URL;
    try {
      url = new URL(resolved);
    } catch {
      return resolved; // the http source reports the bad URL
    }
    const at = new URL(p.path, url.origin);
    url.pathname = at.pathname;
    for (const [k, v] of at.searchParams) url.searchParams.set(k, v);
    return url.href;
  };
}

/**
 * The child's config for one parent: its request templates with `$parent` bound to the parent's fields,
 * written into each template as a JSONata block (`($parent := {…}; (template))`), so the http source
 * evaluates them like any other template (its $cursor, $since, … still bound per request).
 */
export function childSourceConfig(cfg: HttpSourceConfig, parent: ParentFields): HttpSourceConfig {
  const { parent: _p, parentFields: _f, ...child } = cfg;
  const r = cfg.request as HttpRequestTemplates;
  const literal = JSON.stringify(parent);
  const bind = (t: string) => `($parent := ${literal}; (${t}))`;
  const each = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, bind(v)]));
  return {
    ...child,
    request: {
      ...r,
      params: each(r.params),
      headers: each(r.headers),
      ...(r.path !== undefined ? { path: bind(r.path) } : {}),
      ...(r.body !== undefined ? { body: bind(r.body) } : {}),
    },
  };
}
