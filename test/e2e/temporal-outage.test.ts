import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDevServer, type RunningDevServer } from '../../src/dev';
import { freePort } from '../../src/dev/free-port';
import { startCli, waitExit } from '../helpers/cli';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// An acceptance run: with the Temporal server killed under `backfill --wait`, the CLI printed "failed" and exited 1,
// while the run went on and completed once the server was back.
const ROWS = 20_000;
let src: TestDatabase;
let dst: TestDatabase;
let dir: string;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('outage_src'), createTestDatabase('outage_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  dir = mkdtempSync(join(tmpdir(), 'tm-outage-'));
  writeFileSync(
    join(dir, 'tidemark.yaml'),
    'integrations:\n  - id: orders\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.orders, key: [id], create: true}\n    batchSize: 500\n    rateLimit: 500\n',
  );
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

const count = async () => Number((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders').catch(() => [{ n: '0' }]))[0]!.n);

describe('backfill --wait through a Temporal outage', () => {
  it('the server killed and started again on its data: the wait says it lost contact, then reports the completed run (exit 0)', async () => {
    const port = await freePort();
    const dbFile = join(dir, 'temporal.sqlite');
    const start = () => startDevServer({ cliPath: inject('temporalCliPath') || undefined, port, dbFile });
    let server: RunningDevServer = await start();
    const env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: 'e2e-outage', SRC_URL: src.url, DST_URL: dst.url };
    const worker = await startCli(['worker'], env, /tidemark worker: 1 integration/, dir);
    const wait = await startCli(['backfill', 'orders', '--wait'], env, /started backfillWorkflow/, dir);
    try {
      while ((await count()) < 2_000) await sleep(50);
      await server.stop();
      expect(await count()).toBeLessThan(ROWS); // the run was not over before the outage
      // Down until the wait's own call gives up (the CLI used to print "failed"). The client's gRPC retries take about
      // 20 s, give or take a fifth: a fixed 20 s sleep restarted the server first on a CI run, and nothing was lost.
      const downSince = Date.now();
      while (!wait.output().includes('lost contact with Temporal') && Date.now() - downSince < 90_000) await sleep(250);
      server = await start();
      await waitExit(wait.child);
      expect(wait.output()).toContain('lost contact with Temporal');
      expect(wait.output()).toMatch(/completed: 20000 rows in/);
      expect(wait.output()).not.toMatch(/^failed:/m);
      expect(wait.output()).not.toContain('MaxListenersExceededWarning'); // a wait of about a minute (an acceptance run)
      expect(wait.child.exitCode, wait.output()).toBe(0);
      expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    } finally {
      if (wait.child.exitCode === null) wait.child.kill('SIGKILL');
      worker.child.kill('SIGTERM');
      await waitExit(worker.child);
      await server.stop();
    }
  }, 240_000);
});
