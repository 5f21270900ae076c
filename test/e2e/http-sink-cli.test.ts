import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { workflowIdFor } from '../../src/client';
import type { RunningDevServer } from '../../src/dev';
import { contentHashOf } from '../../src/sinks/http';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { runCli, startCli, waitExit } from '../helpers/cli';
import { seedOrders } from '../helpers/fixtures';
import { startDeliveryFake, type DeliveryFake, type DeliveryFakeOptions } from '../sinks/fakes/delivery-fake';
import { ledger, stateClient, TOKEN } from '../sinks/helpers';

/**
 * PostgreSQL → API as a user runs it: tidemark.yaml, `tidemark worker` processes on the Temporal dev
 * server, `tidemark backfill|sync|dead-letters|status|verify`; the worker is killed with SIGKILL while a
 * page's deliveries are in flight, and a new worker resumes. The API is the delivery fake (in this process).
 */
const ROWS = 600;
const BATCH = 25;
const REFUSED = [13, 113, 213, 313, 413, 513];
let server: RunningDevServer;
let db: TestDatabase;
let state: pg.Client;
let client: Client;
let api: DeliveryFake;
const apiOpts: DeliveryFakeOptions = { latencyMs: 30, reject: (item) => Number(item.id) % 100 === 13 };
let cwd: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [server, db, api] = await Promise.all([devServerForTests(), createTestDatabase('http_sink_cli'), startDeliveryFake(apiOpts)]);
  await seedOrders(db.url, { rows: ROWS });
  state = await stateClient(db.url);
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  cwd = mkdtempSync(join(tmpdir(), 'tm-http-sink-'));
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    `integrations:
  - id: orders
    source: { kind: postgres, url: "\${DB_URL}", table: public.orders, cursor: [updated_at, id] }
    sink:
      kind: http
      url: "\${API_URL}/items"
      method: put
      path: "'/' & id"
      key: [id]
      headers: { Authorization: "Bearer \${API_TOKEN}" }
      concurrency: 4
      backoff: { initial: 10ms, max: 50ms }
      stateUrl: "\${DB_URL}"
    batchSize: ${BATCH}
`,
  );
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: 'e2e-http-sink', DB_URL: db.url, API_URL: api.url, API_TOKEN: TOKEN };
});
afterAll(async () => {
  await client?.connection.close();
  await state?.end();
  await api?.close();
  await server?.stop();
  await db?.drop();
});

const READY = /tidemark worker: 1 integration/;
const committed = async () => (await ledger(state, 'orders')).size;

describe('PostgreSQL → API end to end on the Temporal dev server', () => {
  it('SIGKILL of the worker during deliveries, then a new worker: every record applied exactly once, ledger = API; dead letters, --retry, sync of 10 changes', async () => {
    const first = await startCli(['worker'], env, READY, cwd);
    const started = await runCli(['backfill', 'orders'], env, cwd);
    expect(started.stderr).toBe('');
    // Kill while a page is being delivered: some of its records applied at the API, none committed in the ledger.
    const deadline = Date.now() + 60_000;
    let atKill: { ledger: number; applied: number };
    for (;;) {
      const l = await committed();
      const applied = api.store.size + REFUSED.filter((id) => api.log.some((q) => q.ids.includes(String(id)))).length;
      if (l >= 8 * BATCH && applied > l + 2) {
        first.child.kill('SIGKILL');
        atKill = { ledger: l, applied };
        break;
      }
      if (Date.now() > deadline) throw new Error(`no page in flight to kill: ledger ${l}, applied ${applied}\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitExit(first.child);
    await new Promise((r) => setTimeout(r, 200)); // requests the dead worker sent are still answered (and applied) by the API
    // After the kill: the records the API applied that no committed page holds (they are sent again, with the same keys).
    const inFlight = api.store.size - (await committed());
    expect(atKill.ledger).toBeLessThan(ROWS);

    const second = await startCli(['worker'], env, READY, cwd);
    try {
      const result = (await client.workflow.getHandle(workflowIdFor('orders')).result()) as RunResult;
      expect(result).toMatchObject({ rows: ROWS, done: true });
      // Exactly once in effect: each record id written once at the API, each key applied once, one key per record.
      expect(api.store.size).toBe(ROWS - REFUSED.length);
      expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
      expect([...api.applied.values()].every((n) => n === 1)).toBe(true);
      const keysOf = new Map<string, Set<string | undefined>>();
      for (const q of api.log) for (const id of q.ids) keysOf.set(id, (keysOf.get(id) ?? new Set()).add(q.key));
      expect([...keysOf.values()].every((k) => k.size === 1)).toBe(true);
      // The records in flight at the kill were sent again with the same keys: answered from the API's key memory.
      expect(api.replayed).toBeGreaterThanOrEqual(inFlight);
      const l = await ledger(state, 'orders');
      expect(l.size).toBe(api.store.size);
      for (const [id, rec] of api.store) expect(l.get(`[${id}]`)).toBe(contentHashOf(rec));
      console.log(`http sink kill -9: killed with ${atKill.ledger} records in the ledger and ${atKill.applied} answered; applied but not committed: ${inFlight}; re-sent after the kill and replayed by key: ${api.replayed}`);

      // Dead letters: the API's 422 with its status and answer.
      const list = await runCli(['dead-letters', 'orders'], env, cwd);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout.match(/reason: /g)).toHaveLength(REFUSED.length);
      expect(list.stdout).toMatch(/reason: PUT \/items\/13 → 422: {"error":"invalid record","ids":\[13\],"auth":"Bearer \*\*\*"}/);
      const stillRefused = await runCli(['dead-letters', 'orders', '--retry'], env, cwd);
      expect(stillRefused.code).toBe(1);
      expect(stillRefused.stdout).toMatch(/6 pending dead letter\(s\) re-processed: 0 now pass \(0 rows written\), 6 still failing/);
      apiOpts.reject = undefined; // the API accepts them now
      const retry = await runCli(['dead-letters', 'orders', '--retry'], env, cwd);
      expect(retry.code, retry.stderr).toBe(0);
      expect(retry.stdout).toMatch(/6 pending dead letter\(s\) re-processed: 6 now pass \(6 rows written\), 0 still failing/);
      expect(api.store.size).toBe(ROWS);
      expect((await ledger(state, 'orders')).size).toBe(ROWS);

      // 10 rows change: `tidemark sync --wait` sends exactly those; the one the API refuses is said under the outcome.
      const before = api.log.length;
      apiOpts.reject = (item) => Number(item.id) === 120;
      await state.query(`UPDATE orders SET status = 'paid', updated_at = now() - interval '1 hour' WHERE id % 60 = 0`);
      const sync = await runCli(['sync', 'orders', '--wait'], env, cwd);
      apiOpts.reject = undefined;
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.stdout).toMatch(/completed: 10 rows.*\ndead letters: 1 record\(s\) of this run were refused and kept aside: `tidemark dead-letters orders` shows them/);
      expect(api.log.length - before).toBe(10);
      expect([...api.applied.values()].every((n) => n === 1)).toBe(true);

      const status = await runCli(['status', 'orders'], env, cwd);
      expect(status.code, status.stderr).toBe(0);
      // verify compares two tables: it refuses an API sink, saying why.
      const verify = await runCli(['verify', 'orders'], env, cwd);
      expect(verify.code).not.toBe(0);
      expect(verify.stderr).toMatch(/verify compares two PostgreSQL tables; orders sends to a sink of kind http/);
    } finally {
      second.child.kill('SIGTERM');
      await waitExit(second.child);
    }
  }, 300_000);
});
