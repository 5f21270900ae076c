import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { parseConfig } from '../../src/load-config';
import type { RunningDevServer } from '../../src/dev';
import { defineSource } from '../../src/sources/define-source';
import { registerSource } from '../../src/sources/registry';
import { createWorker } from '../../src/worker';
import { cliInProcess } from '../fixtures/in-process-cli';
import { SHORT_HEARTBEAT_TIMEOUT_MS } from '../fixtures/short-heartbeat-workflows';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

// Each slow step takes three heartbeat timeouts: the first page's read, and the second page's write.
const SLOW_MS = 3 * SHORT_HEARTBEAT_TIMEOUT_MS;
const TOTAL = 4;

registerSource(
  'slow-pages',
  defineSource(() => ({
    columns: [
      { name: 'id', type: 'bigint', notNull: true },
      { name: 'label', type: 'text' },
    ],
    async read(after: number | null, limit) {
      const from = (after ?? 0) + 1;
      if (from === 1) await new Promise((r) => setTimeout(r, SLOW_MS));
      const records = [];
      for (let i = from; i <= TOTAL && records.length < limit; i++) records.push({ id: i, label: `item ${i}` });
      return { records, cursor: records.length ? (records[records.length - 1] as { id: number }).id : after };
    },
  })),
);

let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('long_src'), createTestDatabase('long_dst')]);
});
afterAll(async () => {
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('pages longer than the heartbeat timeout (dev server, real time)', () => {
  it('a slow read and a slow upsert each complete once, without a retry', async () => {
    await sql(
      dst.url,
      `CREATE SCHEMA copy; CREATE TABLE copy.slow (id bigint PRIMARY KEY, label text);
       CREATE FUNCTION copy.slow_write() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.id = 3 THEN PERFORM pg_sleep(${SLOW_MS / 1000}); END IF; RETURN NEW; END $$;
       CREATE TRIGGER slow_write BEFORE INSERT ON copy.slow FOR EACH ROW EXECUTE FUNCTION copy.slow_write();`,
    );
    // A second integration whose source table has no index for the keyset order: the run's warning.
    await sql(src.url, `CREATE TABLE public.no_index (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL);
      INSERT INTO public.no_index SELECT g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) g`);
    const raw = {
      integrations: [
        { id: 'slow', source: { kind: 'slow-pages' }, sink: { url: '${DST_URL}', table: 'copy.slow', key: ['id'] }, batchSize: 2 },
        {
          id: 'noindex',
          source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.no_index', cursor: ['updated_at', 'id'] },
          sink: { url: '${DST_URL}', table: 'copy.no_index', key: ['id'], create: true },
        },
      ],
    };
    const config = parseConfig(raw);
    const attempts: number[] = [];
    const taskQueue = 'long-pages';
    const worker = await createWorker({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue,
      config: () => config,
      env: { SRC_URL: src.url, DST_URL: dst.url },
      afterBatch: async ({ attempt }) => {
        attempts.push(attempt);
      },
      worker: {
        workflowBundle: await bundleWorkflowCode({ workflowsPath: join(__dirname, '..', 'fixtures', 'short-heartbeat-workflows.ts'), logger: { log: () => undefined, info: () => undefined, warn: () => undefined, error: console.error, debug: () => undefined, trace: () => undefined } as never }),
        // Send each heartbeat promptly: this test is about tidemark heartbeating, not the SDK's throttle.
        maxHeartbeatThrottleInterval: '300 ms',
        defaultHeartbeatThrottleInterval: '300 ms',
      },
    });
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const started = Date.now();
      let result: RunResult | undefined;
      let elapsed = 0;
      await worker.runUntil(async () => {
        result = (await client.workflow.execute('shortHeartbeatBackfill', { taskQueue, workflowId: 'long-pages-1', args: ['slow'] })) as RunResult;
        elapsed = Date.now() - started;
        // Warnings of the source plan: logged, kept on the run, shown by `tidemark status` (below).
        await client.workflow.execute('shortHeartbeatBackfill', { taskQueue, workflowId: 'no-index-1', args: ['noindex'] });
      });
      expect(result).toMatchObject({ rows: TOTAL, done: true });
      expect(elapsed).toBeGreaterThanOrEqual(2 * SLOW_MS);
      expect(attempts.slice(0, 2)).toEqual([1, 1]); // the slow integration's two pages (then the noindex run's)
      expect(await sql(dst.url, `SELECT attempts::text, status, rows_committed::text FROM tidemark.runs WHERE run_id LIKE 'long-pages-1/%'`)).toEqual([{ attempts: '1', status: 'completed', rows_committed: String(TOTAL) }]);
      const history = await client.workflow.getHandle('long-pages-1').fetchHistory();
      const types = (history.events ?? []).map((e) => String(e.eventType));
      expect(types.filter((t) => /TIMED_OUT/.test(t))).toEqual([]);
      const started1 = (history.events ?? []).find((e) => e.activityTaskStartedEventAttributes);
      expect(started1?.activityTaskStartedEventAttributes?.attempt).toBe(1);

      const cwd = mkdtempSync(join(tmpdir(), 'tm-long-'));
      writeFileSync(join(cwd, 'tidemark.json'), JSON.stringify({ integrations: [raw.integrations[1]] }));
      const status = await cliInProcess(['status', 'noindex', '--config', join(cwd, 'tidemark.json')], { SRC_URL: src.url, DST_URL: dst.url, TEMPORAL_ADDRESS: server.address });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^ {2}last run {3}backfill completed, 20 rows/m);
      expect(status.stdout).toMatch(/^ {2}warning {4}no index on public.no_index serves the keyset order \(updated_at, id\).*CREATE INDEX CONCURRENTLY ON public.no_index \(updated_at, id\)$/m);
    } finally {
      await client.connection.close();
    }
  });
});
