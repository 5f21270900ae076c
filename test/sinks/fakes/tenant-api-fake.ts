import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TenantApiOptions {
  /** tenant (account) → the bearer token that tenant's requests must carry */
  tokens: Record<string, string>;
  /** records a tenant refuses with 422 (a validation error, as e.g. Stripe or HubSpot answer it) */
  reject?: (tenant: string, item: Record<string, unknown>) => boolean;
}

export interface TenantRequest {
  tenant: string;
  method: string;
  id: string;
  key: string | undefined;
  status: number;
}

export interface TenantApi {
  url: string;
  /** tenant → record id → the version it holds */
  stores: Map<string, Map<string, Record<string, unknown>>>;
  /** tenant → idempotency key → how many times it was applied (an API honouring keys: at most 1) */
  applied: Map<string, Map<string, number>>;
  log: TenantRequest[];
  close(): Promise<void>;
}

const ROUTE = /^\/tenants\/([^/]+)\/items\/([^/]+)$/;

/**
 * A multi-tenant API as SaaS APIs shape them: `PUT /tenants/:account/items/:id` with the tenant's own bearer
 * token (401 for a missing or another tenant's token, 404 for an unknown account), idempotency keys scoped to
 * the account the way Stripe scopes them (a repeated key of an applied request gets its first answer, nothing
 * applied again), and 422 with the reason for a record the tenant refuses.
 */
export async function startTenantApi(opts: TenantApiOptions): Promise<TenantApi> {
  const stores = new Map<string, Map<string, Record<string, unknown>>>();
  const applied = new Map<string, Map<string, number>>();
  const answers = new Map<string, { status: number; body: unknown }>();
  const log: TenantRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const m = ROUTE.exec(new URL(req.url ?? '/', 'http://x').pathname);
      const key = req.headers['idempotency-key'] as string | undefined;
      const [tenant, id] = [decodeURIComponent(m?.[1] ?? ''), decodeURIComponent(m?.[2] ?? '')];
      const reply = (status: number, body: unknown) => {
        log.push({ tenant, method, id, key, status });
        const out = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      };
      if (!m || method !== 'PUT') return reply(404, { error: `no route ${method} ${req.url}` });
      const token = opts.tokens[tenant];
      if (token === undefined) return reply(404, { error: `no account ${tenant}` });
      if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: `this token is not valid for account ${tenant}` });
      const scoped = key && `${tenant} ${key}`;
      const seen = scoped && answers.get(scoped);
      if (seen) return reply(seen.status, seen.body);
      const item = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      if (opts.reject?.(tenant, item)) return reply(422, { error: 'invalid record', id: item.id });
      const store = stores.get(tenant) ?? stores.set(tenant, new Map()).get(tenant)!;
      store.set(id, item);
      if (key) {
        const counts = applied.get(tenant) ?? applied.set(tenant, new Map()).get(tenant)!;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const answer = { status: 200, body: { ok: true, id } };
      if (scoped) answers.set(scoped, answer);
      reply(answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stores,
    applied,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
