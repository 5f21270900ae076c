/**
 * Integration configs the scenarios write to tidemark.json. Secrets stay ${NAME} references: the
 * worker and CLI processes get the values in their environment (see Workspace).
 */
import { ORDER_COLUMN_TYPES } from '../../src/mock-api';

export interface OrdersIntegration {
  table?: string;
  target?: string;
  batchSize?: number;
  /** rows per second: keeps a run going long enough to hurt it in the middle */
  rateLimit?: number;
  lag?: string;
  srcVar?: string;
  dstVar?: string;
  extra?: Record<string, unknown>;
}

/** public.orders (or `table`) by (updated_at, id) into copy.orders (or `target`), created by the sink. */
export function ordersIntegration(id: string, o: OrdersIntegration = {}): Record<string, unknown> {
  return {
    id,
    source: { kind: 'postgres', url: `\${${o.srcVar ?? 'SRC_URL'}}`, table: o.table ?? 'public.orders', cursor: ['updated_at', 'id'], lag: o.lag ?? '0s' },
    sink: { kind: 'postgres', url: `\${${o.dstVar ?? 'DST_URL'}}`, table: o.target ?? 'copy.orders', key: ['id'], create: true },
    batchSize: o.batchSize ?? 2000,
    ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    ...o.extra,
  };
}


export type ApiStyle = 'cursor' | 'time_window' | 'starting_after';

const API_PATHS: Record<ApiStyle, { path: string; pagination: Record<string, unknown> }> = {
  cursor: { path: '/v1/orders/cursor', pagination: { style: 'cursor', param: 'cursor', next: 'next_cursor', hasMore: 'has_more' } },
  time_window: { path: '/v1/orders/window', pagination: { style: 'time_window', field: 'updated_at' } },
  starting_after: { path: '/v1/orders', pagination: { style: 'starting_after', idField: 'id' } },
};

export interface ApiIntegration {
  style: ApiStyle;
  target: string;
  /** env var holding the API's base URL (default API_URL) */
  urlVar?: string;
  /** env var holding a bearer token, when the API wants one */
  tokenVar?: string;
  pageSize?: number;
  batchSize?: number;
  timeout?: string;
  retries?: number;
  requestsPerSecond?: number;
}

/** An http integration against the mock API (src/mock-api) in one of its pagination styles. */
export function apiIntegration(id: string, o: ApiIntegration): Record<string, unknown> {
  const p = API_PATHS[o.style];
  return {
    id,
    source: {
      kind: 'http',
      url: `\${${o.urlVar ?? 'API_URL'}}${p.path}`,
      ...(o.tokenVar ? { headers: { Authorization: `Bearer \${${o.tokenVar}}` } } : {}),
      records: 'data',
      pagination: p.pagination,
      columns: ORDER_COLUMN_TYPES,
      pageSize: o.pageSize ?? 100,
      timeout: o.timeout ?? '5s',
      retries: o.retries ?? 10,
      backoff: { initial: '50ms', max: '1s' },
      ...(o.requestsPerSecond ? { requestsPerSecond: o.requestsPerSecond } : {}),
    },
    sink: { kind: 'postgres', url: '${DST_URL}', table: o.target, key: ['id'], create: true },
    batchSize: o.batchSize ?? 500,
  };
}
