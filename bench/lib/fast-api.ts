/**
 * A local orders API for the HTTP benches, in its own process: `npx tsx bench/lib/fast-api.ts --records N
 * --seed S [--latency MS]`. The mock API's dataset (same seed, same orders), each record serialized once
 * at start, and each answer kept as UTF-8 bytes once built (the repetitions ask the same pages again), so
 * an answer costs the server a socket write: what is measured is the client, which shares the machine's
 * cores with this process. Prints "fast-api at http://…" when ready.
 *   GET /v1/orders?limit=&starting_after=ID      ascending id {object, data, has_more}
 *   GET /v1/orders/window?limit=&from=A&to=B     A <= updated_at < B, ascending (updated_at, id) {data, has_more}
 *   GET /stats[?reset]                           requests answered; per window end, requests and the client's turnaround
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrdersDataset } from '../../src/mock-api/orders-dataset';

interface Item {
  id: number;
  t: number;
  json: string;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
}

const records = arg('records', 10_000);
const latency = arg('latency', 0);
const data = new OrdersDataset(records, arg('seed', 7));
const byId: Item[] = data.byIdOrder().map((e) => ({ id: e.order.id, t: e.t, json: JSON.stringify(e.order) }));
const byTime: Item[] = [...byId].sort((a, b) => a.t - b.t || a.id - b.id);

function page(list: Item[], start: number, limit: number, end: (x: Item) => boolean, head: string): string {
  const out: string[] = [];
  let i = start;
  for (; i < list.length && out.length < limit && !end(list[i] as Item); i++) out.push((list[i] as Item).json);
  const more = i < list.length && !end(list[i] as Item);
  return `{${head}"data":[${out.join(',')}],"has_more":${more}}`;
}

/** The first index of a list where `ok` holds (it holds from there on). */
function firstIndex(list: Item[], ok: (x: Item) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ok(list[mid] as Item)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Answers already built, by request path and query: the data never changes, so neither do they. */
const built = new Map<string, { status: number; body: Buffer }>();
let builtBytes = 0;
const BUILT_MAX_BYTES = 1 << 30;

function cached(url: URL): { status: number; body: Buffer } {
  const key = url.pathname + url.search;
  let a = built.get(key);
  if (!a) {
    const { status, body } = answer(url);
    a = { status, body: Buffer.from(body) };
    if (builtBytes + a.body.length <= BUILT_MAX_BYTES) {
      built.set(key, a);
      builtBytes += a.body.length;
    }
  }
  return a;
}

function answer(url: URL): { status: number; body: string } {
  const q = url.searchParams;
  const limit = Math.min(Number(q.get('limit') ?? 10), 1000);
  if (url.pathname === '/v1/orders') {
    const after = Number(q.get('starting_after') ?? 0);
    return { status: 200, body: page(byId, firstIndex(byId, (x) => x.id > after), limit, () => false, '"object":"list",') };
  }
  if (url.pathname === '/v1/orders/window') {
    const from = Date.parse(q.get('from') ?? '');
    const to = Date.parse(q.get('to') ?? '');
    if (Number.isNaN(from) || Number.isNaN(to)) return { status: 400, body: '{"error":"from and to must be ISO-8601 times"}' };
    const start = firstIndex(byTime, (x) => x.t >= from);
    return { status: 200, body: page(byTime, start, limit, (x) => x.t >= to, '') };
  }
  return { status: 404, body: '{"error":"not found"}' };
}

/** Requests answered since start (GET /stats, not counted): the benches report requests per run. */
let served = 0;

/**
 * Per window end (`to`: one slice of a sharded read, or the run's bound), the requests for more than one
 * record and when the last answer went out; and each gap between an answer and the next request of the same
 * window (the client's turnaround: what a slice adds to the API's latency per page). GET /stats?reset clears them.
 */
const windows = new Map<string, { requests: number; sentAt: number }>();
let gaps: number[] = [];

function noteWindow(url: URL, arrived: number): () => void {
  const to = url.searchParams.get('to');
  if (to === null || url.searchParams.get('limit') === '1') return () => undefined;
  const w = windows.get(to) ?? { requests: 0, sentAt: -1 };
  windows.set(to, w);
  if (w.sentAt >= 0) gaps.push(arrived - w.sentAt);
  w.requests++;
  return () => {
    w.sentAt = performance.now();
  };
}

function stats(url: URL): unknown {
  const sorted = [...gaps].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(2)) : null);
  const out = { requests: served, windows: Object.fromEntries([...windows].map(([to, w]) => [to, w.requests])), gapMs: { median: at(0.5), p90: at(0.9), n: sorted.length } };
  if (url.searchParams.has('reset')) {
    windows.clear();
    gaps = [];
  }
  return out;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats(url)));
    return;
  }
  served++;
  const sent = noteWindow(url, performance.now());
  const { status, body } = cached(url);
  const send = () => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
    sent();
  };
  if (latency > 0) setTimeout(send, latency);
  else send();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`fast-api at http://127.0.0.1:${(server.address() as AddressInfo).port} (${records} records, latency ${latency} ms)\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
