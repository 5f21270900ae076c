import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrdersDataset } from '../../../src/mock-api/orders-dataset';

/** One request as a fake API sees it. */
export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  /** parsed JSON body (POST), or undefined */
  json: unknown;
  /** when it arrived (ms since the epoch) */
  at: number;
}

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
  /** answer after this many ms (an API's latency: what makes slices worth reading in parallel) */
  delayMs?: number;
}

export interface FakeApi {
  url: string;
  /** the orders the fake serves (same generator as `tidemark mock-api`): snapshot() is what a target must hold */
  data: OrdersDataset;
  /** every request received, in order */
  log: FakeRequest[];
  close(): Promise<void>;
}

/**
 * A real local HTTP server answering with `handle`: the base of the API-shaped fakes (GitHub-like,
 * Zendesk-like, …) that tests drive the http source against end to end.
 */
export async function startFake(records: number, seed: number, handle: (req: FakeRequest, data: OrdersDataset, base: string) => FakeReply): Promise<FakeApi> {
  const data = new OrdersDataset(records, seed);
  const log: FakeRequest[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let reply: FakeReply;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const r: FakeRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', base), headers: req.headers, json: text ? (JSON.parse(text) as unknown) : undefined, at: Date.now() };
        log.push(r);
        reply = handle(r, data, base);
      } catch (err) {
        reply = { status: 500, body: { error: (err as Error).message } };
      }
      const text = JSON.stringify(reply.body);
      const send = () => {
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...reply.headers });
        res.end(text);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    data,
    log,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A whole number from a query parameter, or the default; NaN → 400 by the caller. */
export function intParam(url: URL, name: string, dflt: number): number {
  const v = url.searchParams.get(name);
  return v === null ? dflt : Number(v);
}

export const badRequest = (message: string): FakeReply => ({ status: 400, body: { message } });
