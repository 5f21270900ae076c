import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { keySourceColumns } from '../../src/config/http-sink-deletes-checks';
import { httpSinkSchema } from '../../src/config/http-sink-schema';
import { DeliveryRetriesExhaustedError, TooManyDeliveryDeletesError } from '../../src/sinks/http';
import { reconcileLedgerDeletes, type LedgerIntegration } from '../../src/verify';
import { seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { startDeliveryFake, type DeliveryFake } from './fakes/delivery-fake';
import { ENV, ledger, stateClient } from './helpers';
import { runPages } from './run-pages';

const ROWS = 100;
let db: TestDatabase;
let state: pg.Client;
let api: DeliveryFake;
let seq = 0;
let id: string;

const env = () => ({ ...ENV, SRC_URL: db.url, DST_URL: db.url, API_URL: api.url });

/** orders (PostgreSQL) → the fake API's /items, deletes reconciled against the delivery ledger. */
function config(sink: Record<string, unknown> = {}): Config {
  return parseConfig({
    integrations: [
      {
        id,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'], lag: '0s' },
        sink: {
          kind: 'http',
          url: '${API_URL}/items',
          key: ['id'],
          headers: { Authorization: 'Bearer ${API_TOKEN}' },
          stateUrl: '${DST_URL}',
          backoff: { initial: '5ms', max: '20ms' },
          deletes: { reconcileEvery: '1h', path: "'/' & id" },
          ...sink,
        },
      },
    ],
  });
}
const integration = (sink: Record<string, unknown> = {}) => config(sink).integrations[0] as LedgerIntegration;
const reconcile = (o: { force?: boolean; sink?: Record<string, unknown> } = {}) => reconcileLedgerDeletes(integration(o.sink), { env: env(), force: o.force, runKey: `run-${id}` });
const deletesSent = () => api.log.filter((l) => l.method === 'DELETE');
const reconciliations = async () =>
  (await state.query<{ status: string; rows_missing: string; rows_deleted: string }>(`SELECT status, rows_missing::text, rows_deleted::text FROM tidemark.reconciliations WHERE integration = $1::text ORDER BY id`, [id])).rows;

beforeAll(async () => {
  db = await createTestDatabase('http_sink_deletes');
  state = await stateClient(db.url);
  await state.query('CREATE TABLE test_checkpoint (integration text PRIMARY KEY, cursor jsonb NOT NULL)');
});
afterEach(async () => {
  await api?.close();
});
afterAll(async () => {
  await state?.end();
  await db?.drop();
});

describe('HTTP sink deletes (sink.deletes)', () => {
  beforeEach(async () => {
    // Each test: a fresh source of 100 orders, all delivered to a fresh API under a new integration id.
    id = `del-${++seq}`;
    await sql(db.url, 'DROP TABLE IF EXISTS public.orders');
    await seedOrders(db.url, { rows: ROWS });
    api = await startDeliveryFake();
    await runPages({ state, srcUrl: db.url, apiUrl: api.url, integration: id });
    expect(api.store.size).toBe(ROWS);
    expect((await ledger(state, id)).size).toBe(ROWS);
  });

  it('sends DELETE for the rows gone from the source and removes them from the ledger; a second reconciliation sends nothing', async () => {
    await sql(db.url, 'DELETE FROM public.orders WHERE id IN (3, 50, 100)');
    const r = await reconcile();
    expect(r).toEqual({ gone: 3, deleted: 3, refused: 0, ledgerRows: ROWS, forced: false });
    expect(deletesSent().map((l) => [l.path, l.status]).sort()).toEqual([
      ['/items/100', 200],
      ['/items/3', 200],
      ['/items/50', 200],
    ]);
    expect(deletesSent().every((l) => l.key !== undefined)).toBe(true);
    expect([...api.store.keys()].filter((k) => ['3', '50', '100'].includes(k))).toEqual([]);
    expect(api.store.size).toBe(ROWS - 3);
    const l = await ledger(state, id);
    expect(l.size).toBe(ROWS - 3);
    expect(['[3]', '[50]', '[100]'].some((k) => l.has(k))).toBe(false);
    expect(await reconciliations()).toEqual([{ status: 'completed', rows_missing: '3', rows_deleted: '3' }]);

    const again = await reconcile();
    expect(again).toMatchObject({ gone: 0, deleted: 0 });
    expect(deletesSent()).toHaveLength(3);
  });

  it('refuses loudly to delete 30% of the ledger (nothing sent, ledger intact); with force they are sent', async () => {
    await sql(db.url, 'DELETE FROM public.orders WHERE id <= 30');
    const err = await reconcile().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyDeliveryDeletesError);
    expect((err as Error).message).toBe(
      `${id}: refusing to send DELETE for 30 of the 100 records the API was sent (30%), more than sink.deletes.maxFraction 0.1 (10%); nothing was sent or removed from the delivery ledger. ` +
        `If the source really lost those rows, run \`tidemark sync ${id} --force-deletes\` once (or raise sink.deletes.maxFraction); otherwise check the source: a read that returns too little must never delete the API's records.`,
    );
    expect(deletesSent()).toHaveLength(0);
    expect(api.store.size).toBe(ROWS);
    expect((await ledger(state, id)).size).toBe(ROWS);

    // A raised maxFraction lets it through as well; here: forced.
    const forced = await reconcile({ force: true });
    expect(forced).toEqual({ gone: 30, deleted: 30, refused: 0, ledgerRows: ROWS, forced: true });
    expect(deletesSent()).toHaveLength(30);
    expect(api.store.size).toBe(70);
    expect((await ledger(state, id)).size).toBe(70);
    expect(await reconciliations()).toEqual([
      { status: 'refused', rows_missing: '30', rows_deleted: '0' },
      { status: 'completed', rows_missing: '30', rows_deleted: '30' },
    ]);
  });

  it('a 404 or 410 answer counts as deleted (the API no longer has the record)', async () => {
    await sql(db.url, 'DELETE FROM public.orders WHERE id IN (7, 8, 9)');
    api.faults.push({ kind: 'status', status: 404, body: { error: 'no such item' } }, { kind: 'status', status: 410, body: { error: 'gone' } });
    const r = await reconcile({ sink: { concurrency: 1 } });
    expect(r).toMatchObject({ gone: 3, deleted: 3, refused: 0 });
    expect(deletesSent().map((l) => l.status)).toEqual([404, 410, 200]);
    expect((await ledger(state, id)).size).toBe(ROWS - 3);
  });

  it('a 500 that outlasts the retries fails the reconciliation with the ledger intact; the next one sends them again with the same keys', async () => {
    await sql(db.url, 'DELETE FROM public.orders WHERE id IN (20, 21)');
    for (let i = 0; i < 6; i++) api.faults.push({ kind: 'fail', status: 500 });
    const err = await reconcile({ sink: { retries: 1, concurrency: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryRetriesExhaustedError);
    expect((await ledger(state, id)).size).toBe(ROWS);
    expect(await reconciliations()).toMatchObject([{ status: 'failed', rows_missing: '2', rows_deleted: '0' }]);
    const firstKeys = new Set(deletesSent().map((l) => l.key));

    api.faults.splice(0);
    const r = await reconcile();
    expect(r).toMatchObject({ gone: 2, deleted: 2 });
    const ok = deletesSent().filter((l) => l.status === 200);
    expect(ok.map((l) => l.path).sort()).toEqual(['/items/20', '/items/21']);
    // The record that had been tried carries the same key again (an API honouring keys applies a DELETE once).
    expect(ok.some((l) => firstKeys.has(l.key))).toBe(true);
    expect((await ledger(state, id)).size).toBe(ROWS - 2);
    expect(api.store.size).toBe(ROWS - 2);
  });

  it('the scheduled reconciliation (reconcileDeletes activity): refused non-retryable, then forced', async () => {
    await sql(db.url, 'DELETE FROM public.orders WHERE id > 80');
    const acts = createActivities({ config: () => config(), env: env() });
    const failure = await new MockActivityEnvironment().run(acts.reconcileDeletes, { integration: id, runKey: `sync-${id}/1` }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'TooManyDeliveryDeletesError', nonRetryable: true });
    expect((failure as Error).message).toMatch(/refusing to send DELETE for 20 of the 100 records .*--force-deletes/);
    expect(deletesSent()).toHaveLength(0);
    // Forced: due or not, and past maxFraction.
    const forced = await new MockActivityEnvironment().run(acts.reconcileDeletes, { integration: id, runKey: `sync-${id}/2`, force: true });
    expect(forced).toEqual({ status: 'completed', deleted: 20 });
    expect(api.store.size).toBe(80);
    // Completed a moment ago: the next unforced one is not due (reconcileEvery 1h).
    expect(await new MockActivityEnvironment().run(acts.reconcileDeletes, { integration: id, runKey: `sync-${id}/3` })).toEqual({ status: 'not-due', deleted: 0 });
  });
});

describe('sink.deletes config', () => {
  const parse = (over: Record<string, unknown>) => httpSinkSchema.safeParse({ kind: 'http', url: 'http://api/items', key: ['id'], deletes: { reconcileEvery: '1h' }, ...over });

  it('needs a path over the key fields only', () => {
    expect(parse({ path: "'/' & id" }).success).toBe(true);
    expect(parse({ deletes: { reconcileEvery: '1h', path: "'/' & id" } }).data?.deletes).toEqual({ reconcileEvery: 3_600_000, maxFraction: 0.1, path: "'/' & id" });
    const none = parse({});
    expect(none.error?.issues[0]).toMatchObject({ path: ['deletes'], message: expect.stringMatching(/needs deletes.path: the path of the DELETE naming one record by its key/) });
    const other = parse({ path: "'/' & email" });
    expect(other.error?.issues[0]).toMatchObject({ path: ['path'], message: 'reads "email", but a DELETE knows only the record\'s key (id): set deletes.path using key fields only' });
    const bulk = parse({ bulk: { size: 10 }, path: "'/batch'" });
    expect(bulk.error?.issues[0]?.message).toMatch(/needs deletes.path: .*\(sink.path is a bulk request's\)/);
    expect(parse({ deletes: { reconcileEvery: '1h', maxFraction: 0, path: "'/' & id" } }).error?.issues[0]).toMatchObject({ path: ['deletes', 'maxFraction'], message: 'must be more than 0' });
  });

  it('with a mapping, the key fields must be source columns passed through unchanged', () => {
    expect(keySourceColumns(['id'], undefined)).toEqual({ columns: ['id'] });
    expect(keySourceColumns(['customer_id', 'region'], { customer_id: 'id', region: { from: 'region' }, name: '=first & last' })).toEqual({ columns: ['id', 'region'] });
    expect(keySourceColumns(['id'], { id: '=$string(id)' })).toMatchObject({ index: 0, problem: expect.stringMatching(/field "id" must be a source column passed through unchanged/) });
    expect(keySourceColumns(['id'], { id: { from: 'id', transform: 'text' } })).toMatchObject({ index: 0 });
    expect(keySourceColumns(['id'], { module: './map.ts' })).toMatchObject({ index: 0, problem: expect.stringMatching(/mapping module/) });
  });
});
