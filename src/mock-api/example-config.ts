/** The columns of the mock API's orders, as the http source declares them. */
export const ORDER_COLUMN_TYPES = {
  id: 'bigint',
  number: 'text',
  status: 'text',
  currency: 'text',
  total: 'numeric',
  customer: 'jsonb',
  items: 'jsonb',
  note: 'text',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  version: 'integer',
} as const;

/** The same, as a YAML flow mapping. */
export const ORDER_COLUMNS = `{ ${Object.entries(ORDER_COLUMN_TYPES).map(([k, v]) => `${k}: ${v}`).join(', ')} }`;

/** One integration per pagination style against a running mock API (printed by `tidemark mock-api`). */
export function exampleConfig(url: string, withToken: boolean): string {
  const headers = withToken ? `\n      headers: { Authorization: "Bearer \${MOCK_API_TOKEN}" }` : '';
  const source = (id: string, path: string, pagination: string, extra = '') => `  - id: ${id}
    source:
      kind: http
      url: ${url}${path}${headers}
      records: data
      pagination: ${pagination}
      columns: ${ORDER_COLUMNS}
      requestsPerSecond: 20
      timeout: 10s
      retries: 8${extra}
    sink: { url: "\${DATABASE_URL}", table: api.${id.replace(/-/g, '_')}, key: [id], create: true }
    batchSize: 200
`;
  return `integrations:
${source('orders-window', '/v1/orders/window', '{ style: time_window, field: updated_at }', '\n      lag: 2s')}${source('orders-cursor', '/v1/orders/cursor', '{ style: cursor, param: cursor, next: next_cursor, hasMore: has_more }')}${source('orders-pages', '/v1/orders/pages', '{ style: page, sinceParam: updated_since, totalPages: total_pages }', '\n      lag: 2s')}${source('orders-new', '/v1/orders', '{ style: starting_after, idField: id }')}`;
}
