import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { startIntegrationRun } from '../../src/client';
import { parseConfig, type Config } from '../../src/config';
import { ORDER_COLUMN_TYPES, startMockApi, type MockApi } from '../../src/mock-api';
import { contentHashOf } from '../../src/sinks/http';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';
import { seedOrders } from '../helpers/fixtures';
import { testWorker, uniqueQueue } from '../helpers/temporal';
import { startDeliveryFake, type DeliveryFake, type DeliveryFakeOptions } from '../sinks/fakes/delivery-fake';
import { ledger, stateClient, TOKEN } from '../sinks/helpers';

/**
 * `sink: { kind: http }` and custom sinks wired into the run path: a real worker on the time-skipping
 * server, real PostgreSQL (source and state database), the delivery fake on a real local HTTP server.
 */
const ROWS = 300;
let env: TestWorkflowEnvironment;
let db: TestDatabase;
let state: pg.Client;
const fakes: DeliveryFake[] = [];
const mocks: MockApi[] = [];

beforeAll(async () => {
  [env, db] = await Promise.all([timeSkippingEnv(), createTestDatabase('http_sink_run')]);
  state = await stateClient(db.url);
  await seedOrders(db.url, { rows: ROWS });
});
afterAll(async () => {
  await Promise.all([...fakes, ...mocks].map((f) => f.close()));
  await state?.end();
  await env?.teardown();
  await db?.drop();
});

async function fake(opts: DeliveryFakeOptions): Promise<DeliveryFake> {
  const f = await startDeliveryFake(opts);
  fakes.push(f);
  return f;
}

const source = { kind: 'postgres', url: '${DB_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] };
const vars = (api?: DeliveryFake) => ({ DB_URL: db.url, DATABASE_URL: db.url, API_TOKEN: TOKEN, ...(api ? { API_URL: api.url } : {}) });

async function run(config: Config, kind: 'sync' | 'backfill', integration: string, api?: DeliveryFake): Promise<RunResult> {
  const taskQueue = uniqueQueue('http-sink');
  const w = await testWorker(env, taskQueue, config, vars(api));
  return (await w.runUntil(async () => (await startIntegrationRun(env.client, kind, { integration }, taskQueue)).result())) as RunResult;
}

const runRow = async (integration: string) =>
  (await state.query<{ rows_read: string; rows_written: string; rows_rejected: string; status: string }>(
    `SELECT rows_read::text, rows_written::text, rows_rejected::text, status FROM tidemark.runs WHERE integration = $1::text ORDER BY started_at DESC LIMIT 1`,
    [integration],
  )).rows[0];

/** Every record the API holds arrived once, with one key per version, and the ledger says exactly what it holds. */
async function expectLedgerEqualsApi(api: DeliveryFake, integration: string): Promise<void> {
  expect([...api.applied.values()].every((n) => n === 1)).toBe(true);
  const l = await ledger(state, integration);
  expect(l.size).toBe(api.store.size);
  for (const [id, rec] of api.store) expect(l.get(`[${id}]`)).toBe(contentHashOf(rec));
}

describe('HTTP sink through the worker (tidemark.yaml → workflow → activity → API)', () => {
  it('backfill delivers every row once; 422s become dead letters with status and body; retry after the fix; a sync sends exactly the changed rows', async () => {
    // The API keeps its refusals by key: the retry must send new requests, not the refused ones again.
    const opts: DeliveryFakeOptions = { latencyMs: 2, reject: (item) => Number(item.id) % 60 === 7, keepRefusals: true };
    const api = await fake(opts);
    const config = parseConfig({
      integrations: [
        {
          id: 'orders-api',
          source,
          sink: { kind: 'http', url: '${API_URL}/items', key: ['id'], headers: { Authorization: 'Bearer ${API_TOKEN}' }, concurrency: 8, backoff: { initial: '5ms', max: '20ms' }, stateUrl: '${DB_URL}' },
          batchSize: 50,
        },
      ],
    });
    const result = await run(config, 'backfill', 'orders-api', api);
    expect(result).toMatchObject({ rows: ROWS, done: true });
    const refusedIds = [7, 67, 127, 187, 247];
    expect(api.store.size).toBe(ROWS - refusedIds.length);
    await expectLedgerEqualsApi(api, 'orders-api');
    expect(await runRow('orders-api')).toMatchObject({ status: 'completed', rows_read: String(ROWS), rows_written: String(ROWS - 5), rows_rejected: '5' });
    const letters = await state.query<{ id: string; record: { id: number }; http_status: number; detail: string; reason: string }>(
      `SELECT id::text, record, http_status, detail, reason FROM tidemark.dead_letters WHERE integration = 'orders-api' AND retried_at IS NULL ORDER BY (record->>'id')::int`,
    );
    expect(letters.rows.map((l) => l.record.id)).toEqual(refusedIds);
    for (const l of letters.rows) {
      expect(l.http_status).toBe(422);
      expect(JSON.parse(l.detail)).toEqual({ error: 'invalid record', ids: [l.record.id], auth: 'Bearer ***' }); // the API's answer, masked
    }

    // The API's rule is fixed: --retry delivers the letters' records (one transaction per batch) and marks them retried.
    opts.reject = undefined;
    const retried = await retryDeadLetters(config.integrations[0]!, vars(api));
    expect(retried).toMatchObject({ pending: 5, written: 5, stillFailing: [] });
    expect(api.replayed).toBe(0);
    expect(api.store.size).toBe(ROWS);
    await expectLedgerEqualsApi(api, 'orders-api');
    const pending = await state.query(`SELECT 1 FROM tidemark.dead_letters WHERE integration = 'orders-api' AND retried_at IS NULL`);
    expect(pending.rowCount).toBe(0);

    // 10 rows change in the source: the next sync sends exactly those 10; the rest of the table is not read again.
    const before = api.log.length;
    await state.query(`UPDATE orders SET status = 'paid', updated_at = now() - interval '1 hour' WHERE id IN (1, 2, 50, 99, 100, 150, 201, 202, 250, 300)`);
    const sync = await run(config, 'sync', 'orders-api', api);
    expect(sync).toMatchObject({ rows: 10, done: true });
    expect(api.log.length - before).toBe(10);
    expect(new Set(api.log.slice(before).flatMap((l) => l.ids))).toEqual(new Set(['1', '2', '50', '99', '100', '150', '201', '202', '250', '300']));
    expect(api.store.get('50')?.status).toBe('paid');
    await expectLedgerEqualsApi(api, 'orders-api');
    expect(await runRow('orders-api')).toMatchObject({ rows_read: '10', rows_written: '10', rows_rejected: '0' });

    // A backfill from the start reads every row again and sends nothing: the ledger holds every version (unchanged, not counted).
    const again = await run(config, 'backfill', 'orders-api', api);
    expect(again).toMatchObject({ rows: ROWS, done: true });
    expect(api.log.length - before).toBe(10);
    expect(await runRow('orders-api')).toMatchObject({ rows_read: String(ROWS), rows_written: '0', rows_rejected: '0' });
  }, 180_000);

  it('a refused record whose next version a later sync delivered is not sent again by --retry (superseded); the others are', async () => {
    const opts: DeliveryFakeOptions = { latencyMs: 1, reject: (item) => Number(item.id) % 60 === 7 };
    const api = await fake(opts);
    const sink = { kind: 'http', url: '${API_URL}/items', key: ['id'], headers: { Authorization: 'Bearer ${API_TOKEN}' }, backoff: { initial: '5ms', max: '20ms' }, stateUrl: '${DB_URL}' };
    const config = parseConfig({ integrations: [{ id: 'stale-api', source: { ...source, lag: '0s' }, sink, batchSize: 100 }] });
    expect(await run(config, 'backfill', 'stale-api', api)).toMatchObject({ done: true });
    expect(api.store.has('7')).toBe(false);
    // The API accepts again; orders 7 and 67 change at the source and the next sync delivers their new versions.
    opts.reject = undefined;
    await state.query(`UPDATE orders SET status = 'refunded', updated_at = now() - interval '1 minute' WHERE id IN (7, 67)`);
    expect(await run(config, 'sync', 'stale-api', api)).toMatchObject({ rows: 2, done: true });
    expect(api.store.get('7')?.status).toBe('refunded');
    const retried = await retryDeadLetters(config.integrations[0]!, vars(api));
    expect(retried).toMatchObject({ pending: 5, superseded: 2, written: 3, stillFailing: [] });
    expect(api.store.get('7')?.status).toBe('refunded');
    expect(api.store.get('67')?.status).toBe('refunded');
    expect(api.store.size).toBe(ROWS);
    await expectLedgerEqualsApi(api, 'stale-api');
  }, 120_000);

  it('a record the rules refused whose next version passed and was delivered is settled by --retry (superseded), not left failing (an acceptance run)', async () => {
    const api = await fake({ latencyMs: 1 });
    const sink = { kind: 'http', url: '${API_URL}/items', key: ['id'], headers: { Authorization: 'Bearer ${API_TOKEN}' }, backoff: { initial: '5ms', max: '20ms' }, stateUrl: '${DB_URL}' };
    const config = parseConfig({ integrations: [{ id: 'rules-api', source: { ...source, lag: '0s' }, sink, batchSize: 100, validate: { status: { enum: ['new', 'paid', 'refunded'] } } }] });
    await state.query(`UPDATE orders SET status = 'bogus' WHERE id IN (291, 292, 293)`);
    try {
      expect(await run(config, 'backfill', 'rules-api', api)).toMatchObject({ done: true });
      expect(['291', '292', '293'].some((id) => api.store.has(id))).toBe(false);
      // Order 292 is fixed at the source; the next sync delivers its new version, which passes the rules.
      await state.query(`UPDATE orders SET status = 'paid', updated_at = now() - interval '1 minute' WHERE id = 292`);
      expect(await run(config, 'sync', 'rules-api', api)).toMatchObject({ rows: 1, done: true });
      expect(api.store.get('292')?.status).toBe('paid');
      const retried = await retryDeadLetters(config.integrations[0]!, vars(api));
      expect(retried).toMatchObject({ pending: 3, superseded: 1, written: 0 });
      expect(retried.stillFailing.map((f) => f.reason)).toEqual([expect.stringMatching(/status/), expect.stringMatching(/status/)]);
      const letters = (await state.query<{ rid: string; superseded: boolean; pending: boolean }>(`SELECT record->>'id' AS rid, superseded, retried_at IS NULL AS pending FROM tidemark.dead_letters WHERE integration = 'rules-api' ORDER BY (record->>'id')::int`)).rows;
      expect(letters).toEqual([
        { rid: '291', superseded: false, pending: true },
        { rid: '292', superseded: true, pending: false },
        { rid: '293', superseded: false, pending: true },
      ]);
      await expectLedgerEqualsApi(api, 'rules-api');
    } finally {
      await state.query(`UPDATE orders SET status = 'new' WHERE id IN (291, 292, 293)`);
    }
  }, 120_000);

  it('an older refused delivery is not re-sent while a newer version of its key still fails the rules: the API never gets the old one (the review)', async () => {
    const opts: DeliveryFakeOptions = { latencyMs: 1, reject: (item) => String(item.id) === '281' };
    const api = await fake(opts);
    const sink = { kind: 'http', url: '${API_URL}/items', key: ['id'], headers: { Authorization: 'Bearer ${API_TOKEN}' }, backoff: { initial: '5ms', max: '20ms' }, stateUrl: '${DB_URL}' };
    const config = parseConfig({ integrations: [{ id: 'older-api', source: { ...source, lag: '0s' }, sink, batchSize: 100, validate: { status: { enum: ['new', 'paid', 'refunded'] } } }] });
    try {
      expect(await run(config, 'backfill', 'older-api', api)).toMatchObject({ done: true });
      // Order 281's next version fails the rules: a newer, validation letter beside the API's refusal of the first.
      await state.query(`UPDATE orders SET status = 'bogus', updated_at = now() - interval '1 minute' WHERE id = 281`);
      expect(await run(config, 'sync', 'older-api', api)).toMatchObject({ done: true });
      opts.reject = undefined;
      const retried = await retryDeadLetters(config.integrations[0]!, vars(api));
      expect(retried).toMatchObject({ pending: 2, written: 0, superseded: 1 });
      expect(retried.stillFailing.map((f) => f.reason)).toEqual([expect.stringMatching(/status/)]);
      expect(api.store.has('281')).toBe(false);
      // Nothing in the ledger for it either: a later --retry cannot read the old version's delivery as the new one's.
      expect((await ledger(state, 'older-api')).has('[281]')).toBe(false);
      const again = await retryDeadLetters(config.integrations[0]!, vars(api));
      expect(again).toMatchObject({ pending: 1, superseded: 0, written: 0 });
    } finally {
      await state.query(`UPDATE orders SET status = 'new' WHERE id = 281`);
    }
  }, 120_000);

  it('retryDeadLetters: eachRun re-sends pending letters before the first page; still-refused ones keep one letter, with the new status and their own cursor', async () => {
    // Refused records of three pages (100 rows each): their letters hold three cursors.
    const opts: DeliveryFakeOptions = { reject: (item) => [5, 150, 250].includes(Number(item.id)) };
    const api = await fake(opts);
    // One request at a time: the retry sends the letters in their order, so the 409 injected below meets the first.
    const sink = { kind: 'http', url: '${API_URL}/items', key: ['id'], headers: { Authorization: 'Bearer ${API_TOKEN}' }, concurrency: 1, backoff: { initial: '5ms', max: '20ms' }, stateUrl: '${DB_URL}' };
    const config = parseConfig({ integrations: [{ id: 'each-run', source, sink, batchSize: 100, retryDeadLetters: 'eachRun' }] });
    expect(await run(config, 'backfill', 'each-run', api)).toMatchObject({ rows: ROWS, done: true });
    const pendingLetters = async () =>
      (
        await state.query<{ id: string; rid: string; http_status: number; reason: string; cursor: string }>(
          `SELECT id::text, record->>'id' AS rid, http_status, reason, cursor::text FROM tidemark.dead_letters WHERE integration = 'each-run' AND retried_at IS NULL ORDER BY id`,
        )
      ).rows;
    const first = await pendingLetters();
    expect(first.map((l) => l.rid)).toEqual(['5', '150', '250']);
    const cursorBefore = new Map(first.map((l) => [l.rid, l.cursor]));
    // Pages of about 100 rows (the tuner may grow them): the first and the last letter come from different pages.
    expect(cursorBefore.get('5')).not.toBe(cursorBefore.get('250'));

    // The first letter's record is still refused, now with 409; the last one by the API's rule; the middle one passes:
    // the next sync (nothing new in the source) delivers it first.
    opts.reject = (item) => String(item.id) === '250';
    api.faults.push({ kind: 'status', status: 409, body: { error: 'conflict: duplicate email' } });
    const sync = await run(config, 'sync', 'each-run', api);
    expect(sync).toMatchObject({ done: true });
    expect(api.store.has('150')).toBe(true);
    expect(api.store.has('5') || api.store.has('250')).toBe(false);
    const after = await pendingLetters();
    // One letter a record, not two: made anew as the latest refusal (a new number), the refusals counted.
    expect(after.map((l) => l.rid)).toEqual(['5', '250']);
    expect(after.every((l) => !first.some((f) => f.id === l.id))).toBe(true);
    // Each keeps its record's cursor (an acceptance run: every letter made anew had the first one's).
    for (const l of after) expect(l.cursor, `letter of record ${l.rid}`).toBe(cursorBefore.get(l.rid));
    expect((await state.query<{ seen: number; first: boolean }>(`SELECT seen, created_at = (SELECT min(created_at) FROM tidemark.dead_letters WHERE integration = 'each-run') AS first FROM tidemark.dead_letters WHERE id = $1::bigint`, [after[0]!.id])).rows).toEqual([{ seen: 2, first: true }]);
    expect(after[0]!.http_status).toBe(409);
    expect(after[0]!.reason).toMatch(/→ 409: .*conflict: duplicate email/);
    await expectLedgerEqualsApi(api, 'each-run');
  }, 180_000);

  it('retryDeadLetters: eachRun works for a table sink too: letters that now pass are written before the first page', async () => {
    const integration = (max: number) => ({
      id: 'table-each-run',
      source,
      sink: { url: '${DB_URL}', table: 'public.orders_copy', key: ['id'], create: true },
      validate: { id: { type: 'integer', max } },
      batchSize: 100,
      retryDeadLetters: 'eachRun',
    });
    expect(await run(parseConfig({ integrations: [integration(290)] }), 'backfill', 'table-each-run')).toMatchObject({ rows: ROWS, done: true });
    const count = async () => Number((await state.query<{ n: string }>('SELECT count(*)::text AS n FROM public.orders_copy')).rows[0]!.n);
    expect(await count()).toBe(290);
    // The rule is relaxed; nothing new in the source: the sync writes the 10 letters' rows first, then reads nothing.
    expect(await run(parseConfig({ integrations: [integration(1000)] }), 'sync', 'table-each-run')).toMatchObject({ rows: 0, done: true });
    expect(await count()).toBe(ROWS);
    const pending = await state.query(`SELECT 1 FROM tidemark.dead_letters WHERE integration = 'table-each-run' AND retried_at IS NULL`);
    expect(pending.rowCount).toBe(0);
  }, 180_000);

  it('a custom sink from sink.module receives the pages and commits with the checkpoint: a failed page is rolled back and resumed', async () => {
    await state.query(`CREATE TABLE received (integration text, id bigint, run_id text)`);
    const config = parseConfig({
      integrations: [
        {
          id: 'custom',
          source,
          sink: { kind: 'recording', module: join(__dirname, '..', 'fixtures', 'recording-sink.js'), table: 'received', failOnWrite: 3, stateUrl: '${DB_URL}' },
          batchSize: 40,
        },
      ],
    });
    const result = await run(config, 'backfill', 'custom');
    expect(result).toMatchObject({ rows: ROWS, done: true });
    // Page 3 inserted its rows and failed: its transaction (rows and checkpoint) rolled back, the retry wrote it once.
    const counts = await state.query<{ n: string; distinct_ids: string }>(`SELECT count(*)::text AS n, count(DISTINCT id)::text AS distinct_ids FROM received WHERE integration = 'custom'`);
    expect(counts.rows[0]).toEqual({ n: String(ROWS), distinct_ids: String(ROWS) });
    const [run0] = (await state.query<{ attempts: string; rows_written: string }>(`SELECT attempts::text, rows_written::text FROM tidemark.runs WHERE integration = 'custom'`)).rows;
    expect(run0).toEqual({ attempts: '2', rows_written: String(ROWS) });
  }, 180_000);

  it('API → API (seed 001): HTTP source → mapping expressions → HTTP sink, in time-boxed syncs that pick up where the last stopped; nothing missed, nothing twice', async () => {
    const RECORDS = 400;
    const source = await startMockApi({ records: RECORDS, seed: 11, token: TOKEN, failRate: 0.05 });
    mocks.push(source);
    const api = await fake({ latencyMs: 15 });
    // Faults at the destination too: a 503, a dropped connection, a 429 with Retry-After; each retried.
    api.faults.push({ kind: 'fail', status: 503 }, { kind: 'drop' }, { kind: 'throttle', retryAfter: '0' });
    const config = parseConfig({
      integrations: [
        {
          id: 'api-to-api',
          source: {
            kind: 'http',
            url: '${SRC_API}/v1/orders/window',
            headers: { Authorization: 'Bearer ${API_TOKEN}' },
            records: 'data',
            pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more' },
            columns: ORDER_COLUMN_TYPES,
            retries: 8,
            backoff: { initial: '10ms', max: '50ms' },
            lag: '0s',
          },
          mapping: { id: 'id', email: '=$lower(customer.email)', city: 'customer.address.city', state: "=status = 'cancelled' ? 'inactive' : 'active'", origin: "='shop'" },
          sink: { kind: 'http', url: '${API_URL}/items', key: ['id'], body: '{ "id": id, "email": email, "city": city, "state": state, "origin": origin }', concurrency: 2, backoff: { initial: '5ms', max: '20ms' }, stateUrl: '${DB_URL}' },
          batchSize: 20,
          maxRunDuration: '700ms',
        },
      ],
    });
    const taskQueue = uniqueQueue('api-to-api');
    const w = await testWorker(env, taskQueue, config, { ...vars(api), SRC_API: source.url });
    const results = await w.runUntil(async () => {
      const out: RunResult[] = [];
      for (let i = 0; i < 60; i++) {
        const r = (await (await startIntegrationRun(env.client, 'sync', { integration: 'api-to-api' }, taskQueue)).result()) as RunResult;
        out.push(r);
        if (r.done) break;
      }
      return out;
    });
    // Several runs, each stopped by its time box (but the last, which read to the source's end: done, even when out of
    // time on that page), each continuing from the previous checkpoint.
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect(results.slice(0, -1).every((r) => r.stoppedBy === 'time-budget' && !r.done)).toBe(true);
    expect(results.at(-1)?.done).toBe(true);
    expect(results.reduce((n, r) => n + r.rows, 0)).toBe(RECORDS);
    // Every order arrived once, mapped.
    const orders = source.snapshot();
    expect(api.store.size).toBe(RECORDS);
    for (const o of orders) {
      expect(api.store.get(String(o.id))).toEqual({ id: o.id, email: o.customer.email.toLowerCase(), city: o.customer.address.city, state: o.status === 'cancelled' ? 'inactive' : 'active', origin: 'shop' });
    }
    expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
    await expectLedgerEqualsApi(api, 'api-to-api');
    console.log(`API → API: ${RECORDS} records in ${results.length} time-boxed syncs (${results.map((r) => r.rows).join(', ')} rows)`);
  }, 180_000);
});
