import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { workflowIdFor } from '../../src/client';
import type { RunningDevServer } from '../../src/dev';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { runCli, startCli, waitExit } from '../helpers/cli';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { expectExactCopy, ORDER_COLUMNS, TOKEN } from './helpers';

const RECORDS = 4_000;
const BATCH = 100;
let server: RunningDevServer;
let dst: TestDatabase;
let api: MockApi;
let client: Client;
let cwd: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [server, dst, api] = await Promise.all([devServerForTests(), createTestDatabase('http_kill'), startMockApi({ records: RECORDS, seed: 41, token: TOKEN })]);
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  cwd = mkdtempSync(join(tmpdir(), 'tm-http-kill-'));
  // 10 requests/s: a backfill of ~40 pages takes a few seconds, long enough to kill the worker in the middle.
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    `integrations:
  - id: api
    source:
      kind: http
      url: "\${API_URL}/v1/orders/pages"
      headers: { Authorization: "Bearer \${API_TOKEN}" }
      pagination: { style: page, totalPages: total_pages }
      columns: ${JSON.stringify(ORDER_COLUMNS)}
      requestsPerSecond: 10
    sink: { url: "\${DST_URL}", table: api.orders, key: [id], create: true }
    batchSize: ${BATCH}
`,
  );
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: 'http-kill', API_URL: api.url, API_TOKEN: TOKEN, DST_URL: dst.url };
});
afterAll(async () => {
  await client?.connection.close();
  await server?.stop();
  await api?.close();
  await dst?.drop();
});

async function rowsDone(): Promise<number> {
  const r = await sql<{ n: string }>(dst.url, `SELECT rows_done::text AS n FROM tidemark.checkpoints WHERE slot = 'backfill'`).catch(() => []);
  return Number(r[0]?.n ?? 0);
}

const READY = /tidemark worker: 1 integration/;

describe('http source on the Temporal dev server', () => {
  it('a backfill from the API survives SIGKILL of its worker; a new worker finishes it with the exact dataset', async () => {
    // Two workers from the start (they boot in parallel); the one running the activity gets killed.
    const workers = await Promise.all([startCli(['worker'], env, READY, cwd), startCli(['worker'], env, READY, cwd)]);
    const started = await runCli(['backfill', 'api'], env, cwd);
    expect(started.stdout).toMatch(/started backfillWorkflow tidemark-api/);

    while ((await rowsDone()) < 1_000) await new Promise((r) => setTimeout(r, 20));
    const desc = await client.workflow.getHandle(workflowIdFor('api')).describe();
    const identity = desc.raw.pendingActivities?.[0]?.lastWorkerIdentity ?? '';
    const victim = workers.find((w) => identity.startsWith(`${w.child.pid}@`));
    const survivor = workers.find((w) => w !== victim)!;
    expect(victim, `the activity runs on one of our workers (${identity})`).toBeDefined();
    victim!.child.kill('SIGKILL');
    await waitExit(victim!.child);
    const atKill = await rowsDone();
    expect(atKill).toBeLessThan(RECORDS);
    const requestsAtKill = api.stats().requests;

    // Temporal hands the activity to the surviving worker when the heartbeat timeout (30 s) expires.
    const second = survivor;
    try {
      const result = (await client.workflow.getHandle(workflowIdFor('api')).result()) as RunResult;
      expect(result).toMatchObject({ rows: RECORDS, done: true });
      expect(await expectExactCopy(dst.url, api)).toBe(RECORDS);
      const [run] = await sql<{ attempts: string; rows_read: string; rows_committed: string }>(
        dst.url,
        `SELECT attempts::text, rows_read::text, rows_committed::text FROM tidemark.runs WHERE kind = 'backfill'`,
      );
      const reread = Number(run!.rows_read) - Number(run!.rows_committed);
      expect(Number(run!.attempts)).toBe(2);
      expect(Number(run!.rows_committed)).toBe(RECORDS);
      expect(reread).toBeLessThanOrEqual(BATCH); // at most the page in flight
      // The second attempt asked only for the pages after the checkpoint (plus at most the one in flight).
      const secondAttempt = api.stats().requests - requestsAtKill;
      expect(secondAttempt).toBeLessThanOrEqual(Math.ceil((RECORDS - atKill) / BATCH) + 1);
      console.log(`http kill: killed at ${atKill} committed rows; re-read after the kill: ${reread} rows; requests after the kill: ${secondAttempt}`);
    } finally {
      second.child.kill('SIGTERM');
      await waitExit(second.child);
    }
  }, 180_000);
});
