import type { Order } from '../../../src/mock-api';
import { firstAfter, firstAtOrAfter, type Entry } from '../../../src/mock-api/orders-dataset';
import { startFake, type FakeApi, type FakeReply } from './fake-server';

export interface GraphqlFakeOptions {
  token: string;
  /** the n-th request (1-based) fails in execution: HTTP 200, `data: { items: null }` and an `errors` entry */
  failRequest?: number;
  /** the n-th request (1-based) answers a page and an errors list beside it (a partial result) */
  partialErrorRequest?: number;
}

/** The fields of type Item (customer and items are JSON scalars, so they need no sub-selection). */
const ITEM_FIELDS: Record<string, (o: Order) => unknown> = {
  id: (o) => String(o.id),
  number: (o) => o.number,
  status: (o) => o.status,
  currency: (o) => o.currency,
  total: (o) => o.total,
  customer: (o) => o.customer,
  items: (o) => o.items,
  note: (o) => o.note,
  createdAt: (o) => o.created_at,
  updatedAt: (o) => o.updated_at,
  version: (o) => o.version,
};
const MAX_FIRST = 100;

/** A GraphQL error answer, the way servers send them: HTTP 200, `errors`, and `data` only once execution began. */
const graphqlError = (message: string, code: string, data?: unknown): FakeReply => ({ body: { errors: [{ message, extensions: { code } }], ...(data === undefined ? {} : { data }) } });

/** The text between the braces that follow `marker` in a query (nested braces skipped), or undefined. */
function selection(query: string, marker: RegExp): string | undefined {
  const m = marker.exec(query);
  if (!m) return undefined;
  let depth = 0;
  for (let i = m.index + m[0].length - 1; i < query.length; i++) {
    if (query[i] === '{') depth++;
    else if (query[i] === '}' && --depth === 0) return query.slice(m.index + m[0].length, i);
  }
  return undefined;
}

/** Top-level field names of a selection set (nested selections dropped). */
function fieldsOf(set: string): string[] {
  let flat = set;
  while (/\{[^{}]*\}/.test(flat)) flat = flat.replace(/\{[^{}]*\}/g, ' ');
  return flat.split(/[\s,]+/).filter(Boolean);
}

/**
 * A GraphQL API the way the spec and Relay's connection convention describe it: `POST /graphql` with
 * `{ query, variables }` (a bearer token, else 401), the connection
 * `items(first: Int!, after: String, updatedSince: DateTime)` sorted by (updatedAt, id) ascending,
 * answering `{ data: { items: { edges: [{ cursor, node }], pageInfo: { hasNextPage, endCursor } } } }`
 * with only the node fields the query selects; `first` at most 100. Errors come as HTTP 200 with
 * `errors: [...]`: a query naming an unknown field or a bad variable gets no `data` at all
 * (validation), an execution failure gets `data: { items: null }`.
 */
export function startGraphqlFake(records: number, seed: number, o: GraphqlFakeOptions): Promise<FakeApi> {
  const encode = (e: Entry) => Buffer.from(`${e.t}:${e.order.id}`).toString('base64url');
  let n = 0;
  return startFake(records, seed, (req, data) => {
    n++;
    if (req.headers.authorization !== `Bearer ${o.token}`) return { status: 401, body: { message: 'This endpoint requires you to be authenticated.' } };
    if (req.method !== 'POST' || req.url.pathname !== '/graphql') return { status: 404, body: { message: 'Not Found' } };
    if (!String(req.headers['content-type']).startsWith('application/json')) return { status: 415, body: { message: 'content-type must be application/json' } };
    const { query, variables = {} } = (req.json ?? {}) as { query?: unknown; variables?: Record<string, unknown> };
    if (typeof query !== 'string') return graphqlError('Must provide query string.', 'BAD_REQUEST');
    const args = /\bitems\s*\(([^)]*)\)/.exec(query)?.[1];
    if (args === undefined) return graphqlError('Field "items" argument "first" of type "Int!" is required, but it was not provided.', 'GRAPHQL_VALIDATION_FAILED');
    for (const [, name] of args.matchAll(/(\w+)\s*:/g)) if (!['first', 'after', 'updatedSince'].includes(name!)) return graphqlError(`Unknown argument "${name}" on field "Query.items".`, 'GRAPHQL_VALIDATION_FAILED');
    const node = selection(query, /\bnode\s*\{/);
    const pageInfo = selection(query, /\bpageInfo\s*\{/);
    if (node === undefined || pageInfo === undefined) return graphqlError('Selections "edges { node { … } }" and "pageInfo { … }" are required on "items".', 'GRAPHQL_VALIDATION_FAILED');
    const wanted = fieldsOf(node);
    const unknown = wanted.find((f) => !ITEM_FIELDS[f]);
    if (unknown) return graphqlError(`Cannot query field "${unknown}" on type "Item".`, 'GRAPHQL_VALIDATION_FAILED');
    const first = variables.first;
    if (!Number.isInteger(first) || (first as number) < 1 || (first as number) > MAX_FIRST) return graphqlError(`Variable "$first": must be an integer between 1 and ${MAX_FIRST} (got ${JSON.stringify(first)}).`, 'BAD_USER_INPUT');
    if (o.failRequest === n) return graphqlError('Internal error while resolving "items".', 'INTERNAL_SERVER_ERROR', { items: null });
    const all = data.byTimeOrder();
    let from = 0;
    const { after, updatedSince } = variables;
    if (typeof after === 'string') {
      const [t, id] = Buffer.from(after, 'base64url').toString().split(':').map(Number);
      if (!Number.isFinite(t) || !Number.isFinite(id)) return graphqlError(`Variable "$after": invalid cursor ${JSON.stringify(after)}.`, 'BAD_USER_INPUT');
      from = firstAfter(all, t!, id!);
    }
    if (typeof updatedSince === 'string') from = Math.max(from, firstAtOrAfter(all, Date.parse(updatedSince)));
    const page = all.slice(from, from + (first as number));
    const edges = page.map((e) => ({ cursor: encode(e), node: Object.fromEntries(wanted.map((f) => [f, ITEM_FIELDS[f]!(e.order)])) }));
    const last = page[page.length - 1];
    const items = { edges, pageInfo: { hasNextPage: from + page.length < all.length, endCursor: last ? encode(last) : null } };
    // A partial result: GraphQL servers may answer data and errors together (a field that failed to resolve).
    if (o.partialErrorRequest === n) return { body: { errors: [{ message: 'Cannot resolve "title" for 3 items.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }], data: { items } } };
    return { body: { data: { items } } };
  });
}
