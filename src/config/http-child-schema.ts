import jsonata from 'jsonata';
import { z } from 'zod';
import { maxPageSizeOf, paginationSchema } from './http-pagination-schema';
import type { HttpRequestTemplates } from './http-request-schema';
import { path, positiveInt, shapeError } from './http-schema-parts';
import { IDENT_RE } from './identifiers';

/**
 * Child streams of `kind: http` (`source.parent`): for each record of a parent list (repositories,
 * tickets) the child endpoint (issues, comments) is read with the parent's declared fields bound as
 * `$parent` in the source's request templates, each parent with its own cursor. See
 * src/sources/http/children.
 */

const pgType = z.string({ error: 'must be a PostgreSQL type name, e.g. text, bigint' }).regex(/^[a-z][a-z0-9 _(),]*$/i, 'must be a PostgreSQL type name, e.g. text, bigint');
const fieldName = z.string({ error: 'must name a field of source.parent.fields' }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a field name: letters, digits and "_", not starting with a digit');

export const parentSchema = z.strictObject(
  {
    /** the parent list's path on source.url's origin, e.g. /orgs/acme/repos (a literal path; an optional ?query is kept) */
    path: z.string({ error: 'must be the path of the parent list, e.g. /orgs/acme/repos' }).regex(/^\/(?!\/)\S*$/, 'must be a path starting with "/", e.g. /orgs/acme/repos'),
    /** the parent list's own static query parameters (source.params are the child's) */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string, number or boolean' }).transform(String), { error: 'must map query parameter names to values' }).default({}),
    /** dot path of the parent records array ("." = the body is the array) */
    records: z.union([z.literal('.'), path]).default('data'),
    pagination: paginationSchema,
    /** parents per request (at most pagination.maxPageSize) */
    pageSize: positiveInt('a whole number of records').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').optional(),
    /** what the child's templates read as $parent.<name>: name → dot path in a parent record */
    fields: z
      .record(fieldName, path, { error: 'must map field names to dot paths in a parent record, e.g. { full_name: full_name, id: id }' })
      .refine((f) => Object.keys(f).length > 0, 'must declare at least one field, e.g. { id: id }'),
    /** the field that identifies a parent in the cursor (default: the first field); a short one (a numeric id) keeps the cursor small */
    key: fieldName.optional(),
    /** true: each run continues the parent list from its cursor, so only parents the list yields again (changed, new) are visited */
    incremental: z.boolean({ error: 'must be true or false' }).default(false),
  },
  shapeError('must be { path, params?, records?, pagination, pageSize?, fields, key?, incremental? }'),
);

/** Child columns taken from the parent: column → field of source.parent.fields (text), or { field, type }. */
export const parentFieldsSchema = z
  .record(
    z.string(),
    z.union([fieldName, z.strictObject({ field: fieldName, type: pgType })], { error: 'must be a field of source.parent.fields, or { field, type }' }),
    { error: 'must map column names to fields of source.parent.fields, e.g. { repo: full_name }' },
  )
  .superRefine((cols, ctx) => {
    for (const name of Object.keys(cols)) {
      if (!IDENT_RE.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'column name must be a plain SQL identifier: letters, digits, "_" or "$", not starting with a digit' });
    }
  })
  .transform((cols) => Object.entries(cols).map(([name, c]) => (typeof c === 'string' ? { name, field: c, type: 'text' } : { name, field: c.field, type: c.type })));

export type ParentConfig = z.infer<typeof parentSchema>;
export type ParentFieldColumn = z.output<typeof parentFieldsSchema>[number];

/** How an expression reads `$parent`: the fields it names (`$parent.full_name`), and whether it uses the whole object. */
export function parentRefsOf(text: string): { fields: string[]; whole: boolean } {
  const fields = new Set<string>();
  let whole = false;
  const isParent = (n: unknown) => !!n && typeof n === 'object' && (n as { type?: string }).type === 'variable' && (n as { value?: string }).value === 'parent';
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.type === 'path' && Array.isArray(n.steps) && isParent(n.steps[0])) {
      const next = n.steps[1] as { type?: string; value?: unknown } | undefined;
      if (next?.type === 'name' && typeof next.value === 'string') fields.add(next.value);
      else whole = true;
      return visit(n.steps.slice(1));
    }
    if (isParent(n)) whole = true;
    for (const v of Object.values(n)) visit(v);
  };
  visit(jsonata(text).ast());
  return { fields: [...fields], whole };
}

/** Every template of a request block, with its config path. */
export function templatesOf(r: HttpRequestTemplates): [(string | number)[], string][] {
  return [
    ...Object.entries(r.params).map(([k, v]): [(string | number)[], string] => [['request', 'params', k], v]),
    ...Object.entries(r.headers).map(([k, v]): [(string | number)[], string] => [['request', 'headers', k], v]),
    ...(r.path !== undefined ? [[['request', 'path'], r.path] as [(string | number)[], string]] : []),
    ...(r.body !== undefined ? [[['request', 'body'], r.body] as [(string | number)[], string]] : []),
  ];
}

interface ChildStreamParts {
  parent?: ParentConfig;
  parentFields?: ParentFieldColumn[];
  request?: HttpRequestTemplates;
  columns: { name: string }[];
}

/** The checks of a child stream: $parent only with a parent block, only declared fields, read at least once; key and parentFields declared. */
export function checkChildStream(cfg: ChildStreamParts, ctx: z.RefinementCtx): void {
  const p = cfg.parent;
  const declared = p ? Object.keys(p.fields) : [];
  const list = declared.map((f) => `$parent.${f}`).join(', ');
  let reads = false;
  for (const [at, text] of cfg.request ? templatesOf(cfg.request) : []) {
    let refs: { fields: string[]; whole: boolean };
    try {
      refs = parentRefsOf(text);
    } catch {
      continue; // a syntax error, reported by the field itself
    }
    if (!refs.fields.length && !refs.whole) continue;
    reads = true;
    if (!p) {
      ctx.addIssue({ code: 'custom', path: at, message: 'references $parent, which only a child stream provides: add source.parent (the parent list and its fields) or remove $parent' });
      continue;
    }
    for (const f of refs.fields) {
      if (!declared.includes(f)) ctx.addIssue({ code: 'custom', path: at, message: `references $parent.${f}, which source.parent.fields does not declare: use ${list}, or add ${f} to source.parent.fields` });
    }
  }
  if (cfg.parentFields && !p) ctx.addIssue({ code: 'custom', path: ['parentFields'], message: 'needs source.parent (the parent list whose fields it copies): add it or remove parentFields' });
  if (!p) return;
  if (!reads) {
    ctx.addIssue({ code: 'custom', path: ['request'], message: `a child stream reads a different list for each parent: reference ${list || '$parent.<field>'} in source.request (path, params, headers or body), e.g. path: "'/repos/' & $parent.full_name & '/issues'"` });
  }
  if (p.key !== undefined && !declared.includes(p.key)) ctx.addIssue({ code: 'custom', path: ['parent', 'key'], message: `must be one of source.parent.fields (${declared.join(', ')}), got ${p.key}` });
  const own = new Set(cfg.columns.map((c) => c.name));
  for (const c of cfg.parentFields ?? []) {
    if (!declared.includes(c.field)) ctx.addIssue({ code: 'custom', path: ['parentFields', c.name], message: `names ${c.field}, which source.parent.fields does not declare (${declared.join(', ')})` });
    if (own.has(c.name)) ctx.addIssue({ code: 'custom', path: ['parentFields', c.name], message: `is also a column in source.columns: rename one` });
  }
  const max = maxPageSizeOf(p.pagination);
  if (p.pageSize !== undefined && max !== undefined && p.pageSize > max) {
    ctx.addIssue({ code: 'custom', path: ['parent', 'pageSize'], message: `is ${p.pageSize}, more than parent.pagination.maxPageSize (${max}): lower it to at most ${max}` });
  }
}
