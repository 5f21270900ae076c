import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryRetriesExhaustedError, DeliveryStatusError } from '../../src/sinks/http';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { ledger, openSink, rows, sinkConfig, stateClient, writePage } from './helpers';

/** An API that misbehaves at the HTTP level, request by request: `plan` says what the n-th request gets. */
type Behaviour = 'hang' | 'hang-mid-body' | 'redirect' | 'ok';

let db: TestDatabase;
let state: pg.Client;
let server: Server | undefined;

async function api(plan: (n: number) => Behaviour): Promise<{ url: string; seen: () => number }> {
  let n = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const b = plan(n++);
      if (b === 'hang') return; // never answers
      if (b === 'hang-mid-body') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        return void res.write('{"ok":');
      }
      if (b === 'redirect') {
        res.writeHead(302, { location: '/elsewhere' });
        return void res.end();
      }
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => n };
}

beforeAll(async () => {
  db = await createTestDatabase('http_transport');
  state = await stateClient(db.url);
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});
afterAll(async () => {
  await state?.end();
  await db?.drop();
});

describe('HTTP sink transport (node:http, keep-alive)', () => {
  it('a request without an answer, or with half a body, times out and is retried', async () => {
    const a = await api((n) => (n === 0 ? 'hang' : n === 1 ? 'hang-mid-body' : 'ok'));
    const sink = await openSink(sinkConfig(a.url, { timeout: '150ms', concurrency: 1 }), 'timeouts');
    const r = await writePage(state, sink, 'timeouts', rows(1, 2));
    expect(r).toEqual({ written: 2, refused: 0, unchanged: 0 });
    expect(a.seen()).toBe(4);
    expect(sink.stats.retries).toBe(2);
    expect((await ledger(state, 'timeouts')).size).toBe(2);
    await sink.close();
  });

  it('retries used up on timeouts fail the page (retryable) naming the timeout', async () => {
    const a = await api(() => 'hang');
    const sink = await openSink(sinkConfig(a.url, { timeout: '50ms', retries: 1, concurrency: 1 }), 'hung');
    const err = await writePage(state, sink, 'hung', rows(1, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryRetriesExhaustedError);
    expect((err as Error).message).toMatch(/failed 2 times \(last: no complete response within 50ms \(timeout\)\)/);
    expect((await ledger(state, 'hung')).size).toBe(0);
    await sink.close();
  });

  it('a redirect is not followed: the page fails naming the status (a record sent elsewhere is not delivered)', async () => {
    const a = await api(() => 'redirect');
    const sink = await openSink(sinkConfig(a.url, { concurrency: 1 }), 'redirected');
    const err = await writePage(state, sink, 'redirected', rows(1, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryStatusError);
    expect((err as DeliveryStatusError).status).toBe(302);
    expect(a.seen()).toBe(1);
    await sink.close();
  });
});
