import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exampleConfig } from './example-config';
import { FaultInjector, NO_FAULTS, type Fault, type FaultOptions } from './faults';
import type { Order } from './order-factory';
import { OrdersDataset, type Mutation } from './orders-dataset';
import { seededRng } from './rng';
import { route, type PageCapRule } from './routes';

export interface MockApiOptions extends Partial<FaultOptions> {
  /** default 0: a free port */
  port?: number;
  host?: string;
  records?: number;
  seed?: number;
  /** require `Authorization: Bearer <token>` (401 otherwise) */
  token?: string;
  /** orders changed per second in the background (a live system) */
  changesPerSecond?: number;
  /**
   * A silent page cap: at most this many records per answer, whatever limit is asked, and no has-more
   * hints (no has_more, total, total_pages, per_page), as APIs like GitHub, Stripe and Shopify cap pages.
   */
  pageCap?: number;
}

export interface MockApiStats {
  /** requests to /v1/* */
  requests: number;
  /** complete 200 answers */
  served: number;
  /** answers by status code */
  status: Record<number, number>;
  faults: Record<Fault | 'rateLimited', number>;
  /** requests the client gave up on (timeout, cancellation) before an answer */
  clientAborts: number;
  /** answers the page cap cut (more records were asked than it allows) */
  capped: number;
}

export interface MockApi {
  /** base URL, e.g. http://127.0.0.1:4010 */
  url: string;
  close(): Promise<void>;
  stats(): MockApiStats;
  resetStats(): void;
  /** changes n orders now (updates and new ones), all with one updated_at */
  mutate(n: number): Mutation;
  /** the exact current dataset, by id */
  snapshot(): Order[];
  setToken(token: string | undefined): void;
  /** background changes per second (0 stops them) */
  setChangesPerSecond(n: number): void;
  setFaults(options: Partial<FaultOptions>): void;
  /** the next requests get these faults, in order, before any other rule */
  injectFaults(...faults: Fault[]): void;
  /** a silent page cap from now on (undefined: none) */
  setPageCap(max: number | undefined): void;
}

const emptyStats = (): MockApiStats => ({ requests: 0, served: 0, status: {}, faults: { error: 0, throttle: 0, rateLimited: 0, hang: 0, drop: 0, truncate: 0 }, clientAborts: 0, capped: 0 });

/**
 * A local JSON API of orders for trying and testing the http source: paginated four ways (see
 * routes.ts), changing on request or continuously, with faults injected on request. Deterministic
 * from its seed (data, changes and the sequence of random faults).
 */
export async function startMockApi(options: MockApiOptions = {}): Promise<MockApi> {
  const seed = options.seed ?? 1;
  const data = new OrdersDataset(options.records ?? 10_000, seed);
  const faults = new FaultInjector({ ...NO_FAULTS, ...definedOnly(options) }, seededRng(seed + 1));
  let token = options.token;
  let stats = emptyStats();
  let retryAfterForm = 0;
  let pageCap = capRule(options.pageCap);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    stats.status[status] = (stats.status[status] ?? 0) + 1;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const tooMany = (res: ServerResponse, seconds: number) => {
    // Both forms RFC 9110 allows: delay-seconds, then an HTTP date.
    const value = retryAfterForm++ % 2 === 0 ? String(seconds) : new Date(Date.now() + seconds * 1000).toUTCString();
    send(res, 429, { error: { type: 'rate_limit_error', message: 'too many requests' } }, { 'retry-after': value });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://mock');
    if (req.method !== 'GET') return send(res, 405, { error: { message: 'only GET' } }, { allow: 'GET' });
    if (url.pathname === '/' || url.pathname === '/health') return send(res, 200, { ok: true, orders: data.size, example: exampleConfig(api.url, !!token) });
    if (!url.pathname.startsWith('/v1/')) return send(res, 404, { error: { message: `no route ${url.pathname}` } });
    stats.requests++;
    let dropped = false;
    req.on('close', () => {
      if (!res.writableFinished && !dropped) stats.clientAborts++;
    });
    const decision = faults.decide();
    if (decision?.fault === 'hang') return void stats.faults.hang++;
    if (decision?.fault === 'drop') {
      stats.faults.drop++;
      dropped = true;
      return void req.socket.destroy();
    }
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, { error: { type: 'authentication_error', message: 'missing or invalid bearer token' } }, { 'www-authenticate': 'Bearer' });
    }
    if (decision?.fault === 'error') {
      stats.faults.error++;
      return send(res, [500, 502, 503][stats.faults.error % 3] as number, { error: { type: 'api_error', message: 'internal error (injected)' } });
    }
    if (decision?.fault === 'throttle') {
      stats.faults.throttle++;
      return tooMany(res, faults.options.retryAfter);
    }
    if (decision?.fault === 'rate-limited') {
      stats.faults.rateLimited++;
      return tooMany(res, decision.retryAfterSeconds);
    }
    const r = route(url.pathname, url.searchParams, data, pageCap);
    if (!r) return send(res, 404, { error: { type: 'invalid_request_error', message: `no route ${url.pathname}` } });
    if (r.capped) stats.capped++;
    if (decision?.fault === 'truncate' && r.status === 200) {
      stats.faults.truncate++;
      stats.status[200] = (stats.status[200] ?? 0) + 1;
      const text = JSON.stringify(r.body);
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: the client sees a clean end of half a document
      return void res.end(text.slice(0, Math.floor(text.length / 2)));
    }
    if (r.status === 200) stats.served++;
    send(res, r.status, r.body);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      send(res, 500, { error: { message: (err as Error).message } });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let pending = 0;
  let cps = options.changesPerSecond ?? 0;
  const ticker = setInterval(() => {
    pending += cps / 10;
    const n = Math.floor(pending);
    pending -= n;
    if (n) data.mutate(n);
  }, 100);
  ticker.unref();

  const api: MockApi = {
    url: `http://${host}:${address.port}`,
    async close() {
      clearInterval(ticker);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // hung requests included
      await closed;
    },
    stats: () => structuredClone(stats),
    resetStats: () => void (stats = emptyStats()),
    mutate: (n) => data.mutate(n),
    snapshot: () => data.snapshot(),
    setToken: (t) => void (token = t),
    setChangesPerSecond: (n) => void (cps = n),
    setFaults: (o) => void (faults.options = { ...faults.options, ...definedOnly(o) }),
    injectFaults: (...f) => faults.enqueue(f),
    setPageCap: (max) => void (pageCap = capRule(max)),
  };
  return api;
}

function capRule(max: number | undefined): PageCapRule | undefined {
  if (max === undefined) return undefined;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`pageCap must be a whole number of records from 1 (got ${max})`);
  return { max };
}

function definedOnly(o: Partial<FaultOptions>): Partial<FaultOptions> {
  const keys: Array<keyof FaultOptions> = ['failRate', 'throttleRate', 'hangRate', 'dropRate', 'truncateRate', 'rateLimit', 'retryAfter'];
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}
