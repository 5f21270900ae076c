import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { RunInput, RunResult } from '../../src/activities';
import { closeQuietly, connect } from '../../src/pg/connect';
import { compareWithSnapshot, ORDER_COLUMN_TYPES, startMockApi } from '../../src/mock-api';
import { withClient } from '../lib/db';
import { shipped } from '../lib/shipped';
import { seconds } from './common';
import type { BenchContext, BenchPath, Measurement } from './types';

/** An API is slower than a database: the path reads at most this many records. */
const HTTP_MAX_ROWS = 100_000;
const SEED = 7;
const TABLE = 'bench.api_orders';

let api: { child: ChildProcess; url: string; records: number } | undefined;
let runs = 0;

const records = (ctx: BenchContext) => Math.min(ctx.rows, HTTP_MAX_ROWS);

/** `tidemark mock-api` in its own process (as a remote API would be), started once for all repetitions. */
async function mockApi(ctx: BenchContext): Promise<string> {
  const n = records(ctx);
  if (api?.records === n) return api.url;
  api?.child.kill(); // another size (--scaling): a new dataset
  const child = spawn(process.execPath, [join(ctx.repoRoot, 'bin', 'tidemark.js'), 'mock-api', '--port', '0', '--records', String(n), '--seed', String(SEED)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`mock-api not ready:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /orders \(seed \d+\) at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mock-api exited (${code}):\n${out}`)));
  });
  api = { child, url, records: n };
  return url;
}

/** Stops the mock API process (the bench's shutdown). */
export async function stopMockApi(): Promise<void> {
  const child = api?.child;
  api = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function runHttp(ctx: BenchContext): Promise<Measurement> {
  const url = await mockApi(ctx);
  const runKey = `bench/http/${process.pid}/${++runs}`;
  const code = await shipped(ctx.repoRoot, ctx.log);
  const config = code.parseConfig({
    integrations: [
      {
        id: 'bench-http',
        source: { kind: 'http', url: `${url}/v1/orders`, records: 'data', pagination: { style: 'starting_after', idField: 'id' }, columns: ORDER_COLUMN_TYPES, pageSize: 1000 },
        sink: { url: '${DST_URL}', table: TABLE, key: ['id'], create: true },
        batchSize: 1000,
      },
    ],
  });
  const activities = code.createActivities({ config: () => config, env: { DST_URL: ctx.dstUrl } });
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });
  const t0 = performance.now();
  const input: RunInput = { integration: 'bench-http', mode: 'backfill', runKey };
  const result = (await env.run(activities.runIntegration, input)) as RunResult;
  const secs = seconds(t0);
  if (!result.done) throw new Error(`http path stopped early: ${JSON.stringify(result)}`);
  return { seconds: secs, rows: result.rows };
}

export const httpPath: BenchPath = {
  id: 'http',
  label: 'HTTP source (mock API)',
  describe: `the HTTP source (starting_after, 1,000-record pages) reading \`tidemark mock-api\` in its own process, up to ${HTTP_MAX_ROWS.toLocaleString('en-US')} nested orders, into PostgreSQL via the activity`,
  rows: records,
  async prepare(ctx) {
    await withClient(ctx.dstUrl, async (c) => {
      await c.query(`DROP TABLE IF EXISTS ${TABLE}`);
      await c.query(`DELETE FROM tidemark.checkpoints WHERE integration = 'bench-http'`).catch(() => undefined);
    });
  },
  run: (ctx) => runHttp(ctx),
  async check(ctx) {
    // The dataset is a function of the seed: an in-process copy gives the snapshot to compare with.
    const twin = await startMockApi({ records: records(ctx), seed: SEED });
    const db = await connect(ctx.dstUrl);
    try {
      const c = await compareWithSnapshot(db, TABLE, twin.snapshot());
      return c.exact ? undefined : `target differs from the API: ${c.rows} rows, ${c.missing} missing, ${c.differing} differing of ${c.expected}`;
    } finally {
      await closeQuietly(db);
      await twin.close();
    }
  },
};
