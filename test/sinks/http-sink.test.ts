import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isPermanent } from '../../src/errors';
import { DeliveryCredentialsError, DeliveryRetriesExhaustedError, DeliveryStatusError, HttpSinkSetupError, contentHashOf, idempotencyKeyOf } from '../../src/sinks/http';
import { RecordDecoder } from '../../src/sinks/http/record-values';
import { requestShapeOf } from '../../src/sinks/http/delivery-keys';
import type { HttpSinkConfig } from '../../src/config/http-sink-schema';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { startDeliveryFake, type DeliveryFake } from './fakes/delivery-fake';
import { COLUMNS, ENV, TOKEN, ledger, openSink, row, rows, sinkConfig, stateClient, writePage } from './helpers';
import { HttpSink } from '../../src/sinks/http';

let db: TestDatabase;
let state: pg.Client;
const fakes: DeliveryFake[] = [];

async function fake(opts: Parameters<typeof startDeliveryFake>[0] = {}): Promise<DeliveryFake> {
  const f = await startDeliveryFake(opts);
  fakes.push(f);
  return f;
}

beforeAll(async () => {
  db = await createTestDatabase('http_sink');
  state = await stateClient(db.url);
});
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});
afterAll(async () => {
  await state?.end();
  await db?.drop();
});

/** The idempotency key a sink of `cfg` sends for a row. */
function keyOf(cfg: HttpSinkConfig, integration: string, r: (string | null)[], replaces?: (string | null)[]): string {
  const record = new RecordDecoder(COLUMNS).decode(r);
  const request = requestShapeOf({ method: cfg.method, url: new URL(cfg.url).href, path: cfg.path, body: cfg.body, bulk: cfg.bulk !== 'per-record' });
  return idempotencyKeyOf({ integration, recordKey: JSON.stringify([record.id]), contentHash: contentHashOf(record), request, replaces: replaces && hashOf(replaces) });
}

function hashOf(r: (string | null)[]): string {
  return contentHashOf(new RecordDecoder(COLUMNS).decode(r));
}

describe('HTTP sink delivery', () => {
  it('delivers a page exactly once in effect through throttling, 5xx and dropped connections', async () => {
    const api = await fake();
    api.faults.push({ kind: 'throttle', retryAfter: '0.05' }, { kind: 'fail', status: 503 }, { kind: 'drop' }, { kind: 'drop-after-apply' }, { kind: 'fail', status: 502 });
    const cfg = sinkConfig(api.url, { concurrency: 8 });
    const sink = await openSink(cfg, 'exact');
    const page = rows(1, 40);
    const r = await writePage(state, sink, 'exact', page);
    expect(r).toEqual({ written: 40, refused: 0, unchanged: 0 });
    expect(api.store.size).toBe(40);
    expect(api.store.get('7')).toEqual({ id: 7, email: 'user7@example.test', total: 9.75, meta: { v: 1, tags: ['a'] } });
    // Every record version applied exactly once, although some requests were sent twice or more.
    expect([...api.applied.values()].every((n) => n === 1)).toBe(true);
    expect(api.applied.size).toBe(40);
    expect([...api.applied.keys()].sort()).toEqual(page.map((p) => keyOf(cfg, 'exact', p)).sort());
    expect(api.log.length).toBeGreaterThan(40);
    expect(sink.stats.retries).toBeGreaterThanOrEqual(5);
    expect(sink.stats.rateLimited).toBe(1);
    expect(api.log.every((l) => l.key !== undefined)).toBe(true);
    const l = await ledger(state, 'exact');
    expect(l.size).toBe(40);
    expect(l.get('[7]')).toBe(hashOf(row(7)));
    await sink.close();
  });

  it('does not re-send unchanged records; a changed one goes with a new key', async () => {
    const api = await fake();
    const cfg = sinkConfig(api.url);
    const sink = await openSink(cfg, 'unchanged');
    await writePage(state, sink, 'unchanged', rows(1, 20));
    expect(api.log.length).toBe(20);
    const again = await writePage(state, sink, 'unchanged', rows(1, 20));
    expect(again).toEqual({ written: 0, refused: 0, unchanged: 20 });
    expect(api.log.length).toBe(20);
    const changed = rows(1, 20);
    changed[4] = row(5, 2);
    const third = await writePage(state, sink, 'unchanged', changed);
    expect(third).toEqual({ written: 1, refused: 0, unchanged: 19 });
    expect(api.log.length).toBe(21);
    expect(api.log[20]?.key).toBe(keyOf(cfg, 'unchanged', row(5, 2), row(5, 1)));
    expect(api.log[20]?.key).not.toBe(keyOf(cfg, 'unchanged', row(5, 1)));
    expect(api.store.get('5')?.meta).toEqual({ v: 2, tags: ['a'] });
    // Changed back: the first version's content again, under a new key, so the API applies it (not a replay).
    await writePage(state, sink, 'unchanged', rows(1, 20));
    expect(api.log.length).toBe(22);
    expect(api.log[21]?.key).not.toBe(keyOf(cfg, 'unchanged', row(5, 1)));
    expect(api.log[21]?.status).toBe(200);
    expect(api.store.get('5')?.meta).toEqual({ v: 1, tags: ['a'] });
    expect((await ledger(state, 'unchanged')).get('[5]')).toBe(hashOf(row(5, 1)));
    await sink.close();
  });

  it('after a crash between sending and committing, re-sends only that page with the same keys, applied once', async () => {
    const api = await fake();
    const sink = await openSink(sinkConfig(api.url, { concurrency: 4 }), 'crash');
    await writePage(state, sink, 'crash', rows(1, 10));
    // The next page is sent, then the worker "dies": its transaction (ledger + checkpoint) never commits.
    await writePage(state, sink, 'crash', rows(11, 20), { rollback: true });
    expect((await ledger(state, 'crash')).size).toBe(10);
    const firstKeys = api.log.slice(10).map((l) => l.key).sort();
    // A new attempt (a fresh sink, as on another worker) re-reads the page from the checkpoint.
    const retry = await openSink(sinkConfig(api.url, { concurrency: 4 }), 'crash');
    const r = await writePage(state, retry, 'crash', rows(11, 20));
    expect(r.written).toBe(10);
    const resent = api.log.slice(20);
    expect(resent.map((l) => l.key).sort()).toEqual(firstKeys); // only the uncommitted page, same keys
    expect(resent.every((l) => l.status === 200)).toBe(true);
    expect([...api.applied.values()].every((n) => n === 1)).toBe(true);
    expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
    expect(api.store.size).toBe(20);
    // The ledger says exactly what the API holds.
    const l = await ledger(state, 'crash');
    expect(l.size).toBe(20);
    for (const [id, rec] of api.store) expect(l.get(`[${id}]`)).toBe(contentHashOf(rec));
    await sink.close();
    await retry.close();
  });

  it('without idempotency keys honoured, the same crash re-applies the page: at-least-once', async () => {
    const api = await fake({ honourKeys: false });
    const sink = await openSink(sinkConfig(api.url), 'no-keys');
    await writePage(state, sink, 'no-keys', rows(1, 5), { rollback: true });
    await writePage(state, sink, 'no-keys', rows(1, 5));
    expect([...api.writes.values()]).toEqual([2, 2, 2, 2, 2]);
    expect(api.store.size).toBe(5);
    await sink.close();
  });

  it('sends a record refused with 422 to dead letters (status, body, secrets masked) and delivers the rest', async () => {
    const api = await fake({ reject: (i) => i.id === 3 || i.id === 7 });
    const sink = await openSink(sinkConfig(api.url), 'refused');
    const r = await writePage(state, sink, 'refused', rows(1, 10));
    expect(r).toEqual({ written: 8, refused: 2, unchanged: 0 });
    expect(api.store.size).toBe(8);
    const letters = await state.query<{ record: { id: number }; reason: string; http_status: number; detail: string; stage: string; cursor: unknown }>(
      `SELECT record, reason, http_status, detail, stage, cursor FROM tidemark.dead_letters WHERE integration = 'refused' ORDER BY (record->>'id')::int`,
    );
    expect(letters.rows.map((x) => x.record.id)).toEqual([3, 7]);
    for (const x of letters.rows) {
      expect(x.http_status).toBe(422);
      expect(x.stage).toBe('write');
      expect(x.cursor).toEqual({ page: 1 });
      expect(x.reason).toMatch(/^POST \/items → 422: .*invalid record/);
      expect(x.detail).toContain('Bearer ***');
      expect(x.detail).not.toContain(TOKEN);
      expect(x.reason).not.toContain(TOKEN);
    }
    const l = await ledger(state, 'refused');
    expect(l.has('[3]')).toBe(false);
    expect(l.size).toBe(8);
    await sink.close();
  });

  it('splits a refused bulk request until the refused records are found', async () => {
    const api = await fake({ reject: (i) => i.id === 5 || i.id === 17 });
    const cfg = sinkConfig(api.url, { url: `${api.url}/bulk`, bulk: { size: 8 }, body: '{ "items": $records }', concurrency: 2 });
    const sink = await openSink(cfg, 'bulk');
    const r = await writePage(state, sink, 'bulk', rows(1, 20));
    expect(r).toEqual({ written: 18, refused: 2, unchanged: 0 });
    expect([...api.store.keys()].map(Number).sort((a, b) => a - b)).toEqual([...Array(20).keys()].map((i) => i + 1).filter((i) => i !== 5 && i !== 17));
    expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
    // 3 bulk requests (8, 8, 4), two refused; each split down to the one refused record: 8 → 4 → 2 → 1 and 4 → 2 → 1.
    const sizes = api.log.map((l) => l.items);
    expect(sizes.filter((n) => n === 8).length).toBe(2);
    expect(api.log.filter((l) => l.status === 422).map((l) => l.items).sort()).toEqual([1, 1, 2, 2, 4, 4, 8]);
    const letters = await state.query<{ id: string }>(`SELECT record->>'id' AS id FROM tidemark.dead_letters WHERE integration = 'bulk' ORDER BY 1`);
    expect(letters.rows.map((x) => x.id)).toEqual(['17', '5']);
    await sink.close();
  });

  it('re-sends a bulk page after a crash with the same request keys, applied once', async () => {
    const api = await fake();
    const cfg = sinkConfig(api.url, { url: `${api.url}/bulk`, bulk: { size: 5 }, concurrency: 2 });
    const sink = await openSink(cfg, 'bulk-crash');
    await writePage(state, sink, 'bulk-crash', rows(1, 12), { rollback: true });
    const r = await writePage(state, sink, 'bulk-crash', rows(1, 12));
    expect(r.written).toBe(12);
    const keys = api.log.map((l) => l.key);
    expect(keys.length).toBe(6);
    expect(keys.slice(3).sort()).toEqual(keys.slice(0, 3).sort());
    expect([...api.applied.values()]).toEqual([1, 1, 1]);
    expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
    await sink.close();
  });

  it('refuses a record whose template fails on it, and fails the page on refused credentials', async () => {
    const api = await fake();
    const sink = await openSink(sinkConfig(api.url, { body: '{ "id": id, "n": $number(email) }' }), 'bad-template');
    const r = await writePage(state, sink, 'bad-template', [row(1)]);
    expect(r).toEqual({ written: 0, refused: 1, unchanged: 0 });
    const letter = await state.query<{ reason: string; http_status: number | null }>(`SELECT reason, http_status FROM tidemark.dead_letters WHERE integration = 'bad-template'`);
    expect(letter.rows).toEqual([{ reason: expect.stringMatching(/^sink\.body failed: /), http_status: null }]);
    expect(api.log.length).toBe(0);

    api.faults.push({ kind: 'status', status: 401, body: { error: 'bad token' } });
    const denied = await openSink(sinkConfig(api.url, { auth: { type: 'bearer', token: '${API_TOKEN}' }, headers: {} }), 'denied');
    const err = await writePage(state, denied, 'denied', [row(1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryCredentialsError);
    expect((err as Error).message).toMatch(/→ 401: the API refuses the credentials: check sink\.auth/);
    expect((await state.query(`SELECT 1 FROM tidemark.dead_letters WHERE integration = 'denied'`)).rowCount).toBe(0);
    await sink.close();
    await denied.close();
  });

  it("keeps a record whose value would walk the path out of sink.url (`..`, `%2e%2e`, `\\`) as a dead letter; nothing is sent for it", async () => {
    const api = await fake();
    const sink = await openSink(sinkConfig(api.url, { method: 'PUT', path: "'/' & email" }), 'walk');
    const hostile = ['../globex/owned-1', '%2e%2e/globex/owned-2', '../../admin/delete-all', '.%2E\\admin', './x', 'ok-1', 'a..b'];
    const page = hostile.map((email, i) => [String(i + 1), email, '1.00', '{}']);
    const r = await writePage(state, sink, 'walk', page);
    expect(r).toEqual({ written: 2, refused: 5, unchanged: 0 });
    expect(api.log.map((l) => `${l.method} ${l.path}`).sort()).toEqual(['PUT /items/a..b', 'PUT /items/ok-1']);
    const letters = await state.query<{ reason: string }>(`SELECT reason FROM tidemark.dead_letters WHERE integration = 'walk' ORDER BY (record->>'id')::int`);
    expect(letters.rows.map((l) => l.reason)).toEqual([
      expect.stringMatching(/^sink\.path evaluated to "\/\.\.\/globex\/owned-1", whose segment "\.\." would leave sink\.url's path: a record's value cannot choose another path$/),
      expect.stringContaining('segment "%2e%2e"'),
      expect.stringContaining('segment ".."'),
      expect.stringContaining('segment ".%2E"'),
      expect.stringContaining('segment "."'),
    ]);
    await sink.close();
  });

  it('stops at once when the run is cancelled, committing nothing of the page', async () => {
    const api = await fake({ latencyMs: 200 });
    const sink = await openSink(sinkConfig(api.url, { concurrency: 2 }), 'cancelled');
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    await state.query('BEGIN');
    const started = Date.now();
    const err = await sink.write(state, { rows: rows(1, 10), cursor: 1 }, { integration: 'cancelled', runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    await state.query('ROLLBACK');
    expect((err as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await ledger(state, 'cancelled')).size).toBe(0);
    await sink.close();
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const api = await fake({ latencyMs: 25 });
    const sink = await openSink(sinkConfig(api.url, { concurrency: 4 }), 'bounded');
    await writePage(state, sink, 'bounded', rows(1, 24));
    expect(api.maxInFlight).toBe(4);
    const one = await fake({ latencyMs: 5 });
    const serial = await openSink(sinkConfig(one.url, { concurrency: 1 }), 'serial');
    await writePage(state, serial, 'serial', rows(1, 6));
    expect(one.maxInFlight).toBe(1);
    await sink.close();
    await serial.close();
  });

  it('sends only the last version of a key repeated within a page', async () => {
    const api = await fake();
    const sink = await openSink(sinkConfig(api.url), 'dupes');
    const r = await writePage(state, sink, 'dupes', [row(1, 1), row(2, 1), row(1, 2)]);
    expect(r).toEqual({ written: 2, refused: 0, unchanged: 1 });
    expect(api.log.length).toBe(2);
    expect(api.store.get('1')?.meta).toEqual({ v: 2, tags: ['a'] });
    await sink.close();
  });

  it('after a body template change and the README\'s re-send (ledger emptied), the API applies the new bodies, not replays', async () => {
    // An acceptance run: the key ignored the request, so all 2,000 re-sent records were answered from the API's memory.
    const api = await fake();
    const first = await openSink(sinkConfig(api.url, { method: 'PUT', path: "'/' & id", body: '{ "id": id, "mail": email }' }), 'rebody');
    await writePage(state, first, 'rebody', rows(1, 20));
    expect(api.store.get('3')).toEqual({ id: 3, mail: 'user3@example.test' });
    await first.close();
    await state.query(`DELETE FROM tidemark.deliveries WHERE integration = 'rebody'`);
    const second = await openSink(sinkConfig(api.url, { method: 'PUT', path: "'/' & id", body: '{ "id": id, "mail": $uppercase(email) }' }), 'rebody');
    expect(await writePage(state, second, 'rebody', rows(1, 20))).toEqual({ written: 20, refused: 0, unchanged: 0 });
    expect(api.replayed).toBe(0);
    expect(api.store.get('3')).toEqual({ id: 3, mail: 'USER3@EXAMPLE.TEST' });
    expect([...api.store.values()].every((r) => /^USER\d+@EXAMPLE\.TEST$/.test(String(r.mail)))).toBe(true);
    // The same request again (a crash before the commit, then the page again): the same keys, answered from memory.
    await state.query(`DELETE FROM tidemark.deliveries WHERE integration = 'rebody'`);
    await writePage(state, second, 'rebody', rows(1, 20));
    expect(api.replayed).toBe(20);
    await second.close();
  });

  it('renders path and body templates per record, and DELETE without a body', async () => {
    const api = await fake();
    const cfg = sinkConfig(api.url, { method: 'PUT', path: "'/' & id", body: '{ "id": id, "mail": $uppercase(email), "k": $idempotencyKey }' });
    const sink = await openSink(cfg, 'templated');
    await writePage(state, sink, 'templated', rows(1, 2));
    expect(api.log.map((l) => `${l.method} ${l.path}`).sort()).toEqual(['PUT /items/1', 'PUT /items/2']);
    expect(api.store.get('2')).toEqual({ id: 2, mail: 'USER2@EXAMPLE.TEST', k: keyOf(cfg, 'templated', row(2)) });
    const del = await openSink(sinkConfig(api.url, { method: 'DELETE', path: "'/' & id" }), 'deleting');
    await writePage(state, del, 'deleting', rows(1, 1));
    expect(api.store.has('1')).toBe(false);
    expect(api.log.at(-1)).toMatchObject({ method: 'DELETE', path: '/items/1', items: 0 });
    await sink.close();
    await del.close();
  });

  it('fails the page, committing nothing, on a status that is not the record\'s fault or on retries used up', async () => {
    const api = await fake();
    const wrong = await openSink(sinkConfig(api.url, { url: `${api.url}/nowhere` }), 'wrong-path');
    const err = await writePage(state, wrong, 'wrong-path', rows(1, 3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryStatusError);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toMatch(/→ 404.*sink\.url, sink\.path/);
    expect((await ledger(state, 'wrong-path')).size).toBe(0);

    api.faults.push(...Array.from({ length: 10 }, () => ({ kind: 'fail' as const, status: 503 })));
    const busy = await openSink(sinkConfig(api.url, { retries: 2, concurrency: 1 }), 'busy');
    const err2 = await writePage(state, busy, 'busy', rows(1, 3)).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(DeliveryRetriesExhaustedError);
    expect(isPermanent(err2)).toBe(false); // the activity retries the page from its checkpoint
    expect((err2 as Error).message).toContain('failed 3 times');
    expect((await ledger(state, 'busy')).size).toBe(0);
    await wrong.close();
    await busy.close();
  });

  it('on the first failure, aborts the requests still retrying instead of waiting for them', async () => {
    const api = await fake({ latencyMs: 20 });
    api.faults.push({ kind: 'status', status: 405, body: { error: 'method not allowed' } }, ...Array.from({ length: 20 }, () => ({ kind: 'fail' as const, status: 503 })));
    const sink = await openSink(sinkConfig(api.url, { concurrency: 4, retries: 10, backoff: { initial: '3s', max: '10s' } }), 'first-failure');
    const started = Date.now();
    const err = await writePage(state, sink, 'first-failure', rows(1, 4)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryStatusError);
    expect((err as Error).message).toContain('→ 405');
    expect(Date.now() - started).toBeLessThan(1500); // the 503s would back off for seconds
    expect((await ledger(state, 'first-failure')).size).toBe(0);
    await sink.close();
  });

  it('refuses, before the first page, key and template fields the records do not have', async () => {
    const api = await fake();
    const noKey = new HttpSink(sinkConfig(api.url, { key: ['customer_id'] }), { integration: 'x', env: ENV });
    await expect(noKey.prepare(COLUMNS)).rejects.toThrow(HttpSinkSetupError);
    await expect(noKey.prepare(COLUMNS)).rejects.toThrow(/sink\.key\[0\]: field "customer_id" is not among the mapped records' fields \(id, email, total, meta\)/);
    const typo = new HttpSink(sinkConfig(api.url, { path: "'/' & idd", body: '{ "e": $record.emial, "n": first_name & " " & last_name }' }), { integration: 'x', env: ENV });
    await expect(typo.prepare(COLUMNS)).rejects.toThrow(/sink\.path: reads "idd"/);
    const typoBody = new HttpSink(sinkConfig(api.url, { body: '{ "e": $record.emial, "n": first_name }' }), { integration: 'x', env: ENV });
    await expect(typoBody.prepare(COLUMNS)).rejects.toThrow(/sink\.body: reads "emial", "first_name"/);
    const bulk = new HttpSink(sinkConfig(api.url, { bulk: { size: 10 }, body: '{ "items": $records.{ "id": id, "x": nope }, "first": $records.idd }' }), { integration: 'x', env: ENV });
    await expect(bulk.prepare(COLUMNS)).rejects.toThrow(/sink\.body: reads "idd"/);
    for (const s of [noKey, typo, typoBody, bulk]) await s.close();
    expect(api.log.length).toBe(0);
  });
});
