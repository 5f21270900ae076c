import { isDeepStrictEqual } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { expect } from 'vitest';
import { createActivities, type ActivityDeps, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { ORDER_COLUMN_TYPES, type MockApi, type Order } from '../../src/mock-api';
import { createHttpSource, type HttpSource } from '../../src/sources/http';
import type { PrepareOptions } from '../../src/sources/source';
import { sql } from '../helpers/fixtures';

export const TOKEN = 'tm-test-token-Zx81qv';
export const TABLE = 'api.orders';

export const ORDER_COLUMNS: Record<string, string> = { ...ORDER_COLUMN_TYPES };

export const STYLES = {
  time_window: { path: '/v1/orders/window', pagination: { style: 'time_window', field: 'updated_at' } },
  cursor: { path: '/v1/orders/cursor', pagination: { style: 'cursor' } },
  page: { path: '/v1/orders/pages', pagination: { style: 'page', totalPages: 'total_pages' } },
  starting_after: { path: '/v1/orders', pagination: { style: 'starting_after' } },
} as const;

export type Style = keyof typeof STYLES;

/** One integration `api` reading the mock API in `style` into api.orders; secrets and URLs from ${ENV}. */
export function apiConfig(style: Style, source: Record<string, unknown> = {}, integration: Record<string, unknown> = {}): Config {
  return parseConfig({
    integrations: [
      {
        id: 'api',
        source: {
          kind: 'http',
          url: `\${API_URL}${STYLES[style].path}`,
          headers: { Authorization: 'Bearer ${API_TOKEN}' },
          pagination: STYLES[style].pagination,
          columns: ORDER_COLUMNS,
          backoff: { initial: '20ms', max: '200ms' },
          ...source,
        },
        sink: { url: '${DST_URL}', table: TABLE, key: ['id'], create: true },
        batchSize: 100,
        ...integration,
      },
    ],
  });
}

export interface Runner {
  run(input: Partial<RunInput> & { runKey: string }, env?: MockActivityEnvironment, extra?: Partial<ActivityDeps>): Promise<RunResult>;
}

export function runner(config: () => Config, vars: () => NodeJS.ProcessEnv): Runner {
  return {
    run(input, env = new MockActivityEnvironment(), extra = {}) {
      const acts = createActivities({ config, env: vars(), ...extra });
      const full: RunInput = { integration: 'api', mode: 'backfill', ...input };
      return env.run(acts.runIntegration, full) as Promise<RunResult>;
    },
  };
}

/** The target table read back into the mock API's shape (jsonb parsed, timestamps as ISO, numeric as text). */
export async function targetOrders(url: string, table = TABLE): Promise<Order[]> {
  const rows = await sql<Record<string, unknown>>(
    url,
    `SELECT id::text, number, status, currency, total::text, customer::text, items::text, note, created_at, updated_at, version FROM ${table} o ORDER BY o.id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    number: r.number as string,
    status: r.status as string,
    currency: r.currency as string,
    total: r.total as string,
    customer: JSON.parse(r.customer as string) as Order['customer'],
    items: JSON.parse(r.items as string) as Order['items'],
    note: r.note as string | null,
    created_at: (r.created_at as Date).toISOString(),
    updated_at: (r.updated_at as Date).toISOString(),
    version: r.version as number,
  }));
}

/** Row count and every row's content equal to the mock API's current dataset. */
export async function expectExactCopy(url: string, api: Pick<MockApi, 'snapshot'>, table = TABLE): Promise<number> {
  const want = api.snapshot();
  const got = await targetOrders(url, table);
  expect(got.length).toBe(want.length);
  // Compared record by record: a whole-array diff of thousands of records takes vitest minutes to print.
  const byId = new Map(got.map((o) => [o.id, o]));
  const missing = want.filter((o) => !byId.has(o.id)).map((o) => o.id);
  expect(missing, 'records missing from the target').toEqual([]);
  const differing = want.filter((o) => !isDeepStrictEqual(normalize(byId.get(o.id)), normalize(o)));
  if (differing[0]) expect(byId.get(differing[0].id), `${differing.length} records differ, e.g. id ${differing[0].id}`).toEqual(differing[0]);
  return got.length;
}

/** Key order does not matter in JSON (jsonb sorts keys). */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, normalize(x)]));
  return v;
}

/** xmin per target row: a changed xmin means the upsert rewrote the row. */
export async function rowVersions(url: string, table = TABLE): Promise<Map<number, string>> {
  const rows = await sql<{ id: string; x: string }>(url, `SELECT id::text, xmin::text AS x FROM ${table}`);
  return new Map(rows.map((r) => [Number(r.id), r.x]));
}

export function rewritten(before: Map<number, string>, after: Map<number, string>): number[] {
  return [...after].filter(([id, x]) => before.get(id) !== x).map(([id]) => id).sort((a, b) => a - b);
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The http source on its own (no activity), prepared, for timing and cancellation checks. */
export async function httpSource(api: MockApi, style: Style, extra: Record<string, unknown> = {}, prepare: PrepareOptions = {}, integration = 'http'): Promise<HttpSource> {
  const cfg = apiConfig(style, extra).integrations[0]!.source as HttpSourceConfig;
  const env: Record<string, string> = { API_URL: api.url, API_TOKEN: TOKEN };
  const s = (await createHttpSource(cfg, (v) => v.replace(/\$\{(\w+)\}/g, (_, n: string) => env[n] as string), { integration })) as HttpSource;
  await s.prepare(prepare);
  return s;
}

export async function readAll(s: HttpSource, opts: { limit: number; signal?: AbortSignal; onIdle?: () => void }): Promise<number> {
  let rows = 0;
  for await (const p of s.pages(null, opts)) rows += p.rows.length;
  return rows;
}
