import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/cli/run-commands';
import { freePort } from '../../src/dev';
import { runCli, startCli, waitExit } from '../helpers/cli';
import { ORDERS_YAML, startCliStack, type CliStack } from '../helpers/cli-stack';
import { digest, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';

const ROWS = 2_000;
let stack: CliStack;
let env: NodeJS.ProcessEnv;
let cwd: string;
let dead: string;

beforeAll(async () => {
  // A source nothing listens for: the run fails to connect, and Temporal retries it.
  dead = `postgres://tm:tm@127.0.0.1:${await freePort()}/nowhere`;
  stack = await startCliStack({
    name: 'wait',
    queue: 'wait-report',
    rows: ROWS,
    yaml: `${ORDERS_YAML}    batchSize: 500\n    deletes: {reconcileEvery: 1h}\n  - id: unreach\n    source: {kind: postgres, url: "\${DEAD_URL}", table: public.orders, cursor: [updated_at, id]}\n    sink: {kind: postgres, url: "\${DST_URL}", table: copy.unreach, key: [id], create: true}\n`,
    workerEnv: { DEAD_URL: dead },
    worker: { afterBatch: () => sleep(300) }, // 4 pages: the run takes at least 1.2 s, so the duration printed means something
  });
  ({ env, cwd } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

describe('--wait reports how long the run took and its rate', () => {
  it('backfill --wait prints rows, duration and rows/s on completion', async () => {
    const r = await runCli(['backfill', 'orders', '--wait'], env, cwd);
    expect(r.code, r.stderr).toBe(0);
    const m = /completed: 2000 rows in (\d+\.\d) s \(([\d,]+) rows\/s\), cursor \[".*"\], done/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const secs = Number(m![1]);
    const rate = Number(m![2]!.replace(/,/g, ''));
    expect(secs).toBeGreaterThanOrEqual(1.2);
    expect(secs).toBeLessThan(120);
    // The rate is rows over that duration (the duration is printed rounded to 0.1 s).
    expect(rate).toBeGreaterThanOrEqual(Math.floor(ROWS / (secs + 0.05)));
    expect(rate).toBeLessThanOrEqual(Math.ceil(ROWS / (secs - 0.05)));
    expect(await digest(stack.dst.url, 'copy.orders')).toEqual(await digest(stack.src.url, 'public.orders'));
  });

  it('sync --wait with nothing new reports 0 rows and a rate of 0', async () => {
    const r = await runCli(['sync', 'orders', '--wait'], env, cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/completed: 0 rows in \d+\.\d s \(0 rows\/s\), cursor \[".*"\], done/);
  });

  it('a sync that reconciled deletes says how many target rows it deleted, and so does `runs` (an acceptance run: "0 rows" alone)', async () => {
    await sql(stack.src.url, 'DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders ORDER BY id LIMIT 5)');
    const r = await runCli(['sync', 'orders', '--wait', '--force-deletes'], env, cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/completed: 0 rows .*\ndeleted: 5 target row\(s\) whose key the source no longer has \(deletes\)\n/);
    expect((await runCli(['runs', 'orders'], env, cwd)).stdout).toContain('    deleted: 5 target row(s) whose key the source no longer has (deletes)');
    const [latest] = JSON.parse((await runCli(['runs', 'orders', '--json'], env, cwd)).stdout) as { rows_deleted: number }[];
    expect(latest?.rows_deleted).toBe(5);
  });

  it('--wait says each failed attempt as it is retried, not only when the run gives up (an acceptance run: minutes of silence)', async () => {
    const w = await startCli(['sync', 'unreach', '--wait'], { ...env, DEAD_URL: dead }, /retrying: attempt \d+ of runIntegration failed/, cwd);
    const client = new Client({ connection: await Connection.connect({ address: stack.server.address }) });
    try {
      w.child.kill('SIGINT');
      await waitExit(w.child);
      const out = w.output();
      expect(out).toMatch(/^started syncWorkflow tidemark-unreach/m);
      expect(out).toMatch(/^retrying: attempt \d+ of runIntegration failed: cannot reach the source database at 127\.0\.0\.1:\d+\/nowhere .*ECONNREFUSED/m);
      // One line per failed attempt, however often the CLI looks.
      const attempts = [...out.matchAll(/retrying: attempt (\d+) /g)].map((m) => m[1]);
      expect(new Set(attempts).size).toBe(attempts.length);
    } finally {
      await client.workflow.getHandle('tidemark-unreach').terminate('test over').catch(() => undefined);
      await client.connection.close();
    }
  });

  it('formats long durations in minutes and hours', () => {
    expect([formatDuration(4.04), formatDuration(59.94), formatDuration(245), formatDuration(7385)]).toEqual(['4.0 s', '59.9 s', '4 min 05 s', '2 h 03 min']);
  });
});
