import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake does with the next request (one fault per request, in order). */
export type Fault =
  | { kind: 'throttle'; retryAfter: string }
  | { kind: 'fail'; status: number }
  | { kind: 'drop' } // connection closed before anything is applied
  | { kind: 'drop-after-apply' } // applied, then the connection closed: the client cannot know it worked
  | { kind: 'status'; status: number; body: unknown };

export interface DeliveryFakeOptions {
  /** delay before each answer (an API's latency) */
  latencyMs?: number;
  /** records the API refuses with 422 (a bulk request holding one is refused as a whole) */
  reject?: (item: Record<string, unknown>) => boolean;
  /** replay the first answer of a key instead of applying it again (default true) */
  honourKeys?: boolean;
  /**
   * keep a refusal (422) by its key too and replay it, as Stripe does for a request that began executing ("the same
   * result, including errors"): a record sent again after a fix must come with a new key
   */
  keepRefusals?: boolean;
  /**
   * POST /bulk answers per item, like Elasticsearch `_bulk`: the accepted items are applied and the answer
   * is 200 (all applied) or 207 with `{ results: [{ status, error? }] }` in the request's order
   */
  itemResults?: boolean;
  /** with itemResults: an item's status (default 201, or 422 when `reject` says so); e.g. 503 for an item to retry */
  itemStatus?: (item: Record<string, unknown>) => number | undefined;
}

export interface FakeRequestLog {
  method: string;
  path: string;
  key: string | undefined;
  status: number;
  /** records in the request (bulk: the array's length) */
  items: number;
  /** the record ids it carries (from the body, or the path) */
  ids: string[];
}

export interface DeliveryFake {
  url: string;
  /** record id → the version the API holds */
  store: Map<string, Record<string, unknown>>;
  /** idempotency key → how many times its request was applied (an API honouring keys: at most 1) */
  applied: Map<string, number>;
  /** how many times each record id was written */
  writes: Map<string, number>;
  log: FakeRequestLog[];
  /** requests answered from the key memory (a repeated idempotency key), nothing applied */
  readonly replayed: number;
  faults: Fault[];
  /** most requests being answered at one time */
  readonly maxInFlight: number;
  close(): Promise<void>;
}

/**
 * A real local HTTP API that records go to: POST/PUT/PATCH /items[/:id] (one record), DELETE /items/:id,
 * POST /bulk (an array, or { items: [...] }). It honours idempotency keys the way Stripe documents it
 * (a repeated key gets the first answer, nothing applied again), refuses records with 422 (echoing the
 * Authorization header, so masking is tested), and injects throttling, 5xx and dropped connections.
 */
export async function startDeliveryFake(opts: DeliveryFakeOptions = {}): Promise<DeliveryFake> {
  const store = new Map<string, Record<string, unknown>>();
  const applied = new Map<string, number>();
  const writes = new Map<string, number>();
  const answers = new Map<string, { status: number; body: unknown }>();
  const log: FakeRequestLog[] = [];
  const faults: Fault[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let replayed = 0;
  const honour = opts.honourKeys ?? true;

  const apply = (method: string, id: string | undefined, item: Record<string, unknown>) => {
    const rid = id ?? String(item.id);
    writes.set(rid, (writes.get(rid) ?? 0) + 1);
    if (method === 'DELETE') store.delete(rid);
    else store.set(rid, item);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        const method = req.method ?? 'GET';
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        const key = req.headers['idempotency-key'] as string | undefined;
        const text = Buffer.concat(chunks).toString('utf8');
        const body = text ? (JSON.parse(text) as unknown) : undefined;
        const items = (Array.isArray(body) ? body : ((body as { items?: unknown[] } | undefined)?.items ?? (body === undefined ? [] : [body]))) as Record<string, unknown>[];
        const pathId = /^\/items\/([^/]+)$/.exec(path)?.[1];
        const ids = items.length ? items.map((i) => String(i.id)) : pathId ? [pathId] : [];
        const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          log.push({ method, path, key, status, items: items.length, ids });
          const out = JSON.stringify(payload);
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), ...headers });
          res.end(out);
        };
        const fault = faults.shift();
        if (fault?.kind === 'throttle') return reply(429, { error: 'slow down' }, { 'retry-after': fault.retryAfter });
        if (fault?.kind === 'fail') return reply(fault.status, { error: 'unavailable' });
        if (fault?.kind === 'status') return reply(fault.status, fault.body);
        if (fault?.kind === 'drop') {
          log.push({ method, path, key, status: 0, items: items.length, ids });
          return req.socket.destroy();
        }
        if (honour && key && answers.has(key)) {
          const a = answers.get(key) as { status: number; body: unknown };
          replayed++;
          return reply(a.status, a.body, { 'idempotent-replayed': 'true' });
        }
        if (opts.itemResults && path === '/bulk') {
          const results = items.map((i) => {
            const status = opts.itemStatus?.(i) ?? (opts.reject?.(i) ? 422 : 201);
            if (status < 300) apply(method, undefined, i);
            return status < 300 ? { status } : { status, error: status === 422 ? `invalid record ${String(i.id)}` : 'try again later' };
          });
          if (key) applied.set(key, (applied.get(key) ?? 0) + 1);
          const answer = { status: results.some((r) => r.status >= 300) ? 207 : 200, body: { results } };
          if (key) answers.set(key, answer);
          return reply(answer.status, answer.body);
        }
        const refused = items.filter((i) => opts.reject?.(i));
        if (refused.length) {
          const answer = { status: 422, body: { error: 'invalid record', ids: refused.map((i) => i.id), auth: req.headers.authorization } };
          if (key && opts.keepRefusals) answers.set(key, answer);
          return reply(answer.status, answer.body);
        }
        const m = /^\/items(?:\/([^/]+))?$/.exec(path);
        if (!m && path !== '/bulk') return reply(404, { error: `no route ${path}` });
        for (const item of items) apply(method, m?.[1], item);
        if (method === 'DELETE' && m?.[1] && !items.length) apply(method, m[1], {});
        if (key) applied.set(key, (applied.get(key) ?? 0) + 1);
        const answer = { status: 200, body: { ok: true, count: items.length } };
        if (key) answers.set(key, answer);
        if (fault?.kind === 'drop-after-apply') {
          log.push({ method, path, key, status: 0, items: items.length, ids });
          return req.socket.destroy();
        }
        reply(answer.status, answer.body);
      }, opts.latencyMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    applied,
    writes,
    log,
    faults,
    get maxInFlight() {
      return maxInFlight;
    },
    get replayed() {
      return replayed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
