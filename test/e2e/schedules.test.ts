import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { scheduleIdFor, type ScheduleView } from '../../src/schedules';
import { createWorker } from '../../src/worker';
import { runCli } from '../helpers/cli';
import { digest, insertOrders, seedOrders, sql } from '../helpers/fixtures';
import { sleep, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

// Schedules need the real dev server: the time-skipping test server has no Schedules API.
const QUEUE = 'e2e-schedules';
const ROWS = 3000;
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let client: Client;
let cwd: string;
let env: NodeJS.ProcessEnv;
let worker: Worker;
let running: Promise<void>;

/** One integration of the yaml: public.orders into copy.<id>; `slow` reads at 50 rows/s so its runs overlap ticks (and outlast a few CLI calls on a loaded machine). */
const integration = (id: string, schedule?: string) =>
  `  - id: ${id}\n` +
  `    source: {kind: postgres, url: "\${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n` +
  `    sink: {kind: postgres, url: "\${DST_URL}", table: copy.${id}, key: [id], create: true}\n` +
  (id === 'slow' ? '    batchSize: 100\n    rateLimit: 50\n' : '') +
  (schedule ? `    schedule: ${schedule}\n` : '');
const yaml = (...integrations: string[]) => `integrations:\n${integrations.join('')}`;
const write = (text: string) => writeFileSync(join(cwd, 'tidemark.yaml'), text);
const cli = (...args: string[]) => runCli(args, env, cwd);
const out = async (...args: string[]) => {
  const r = await cli(...args);
  expect(r.stderr, `tidemark ${args.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
};

interface RunRow {
  run_id: string;
  status: string;
  rows_committed: string;
  start_cursor: string | null;
  end_cursor: string | null;
}
const runs = (id = 'orders') =>
  sql<RunRow>(
    dst.url,
    `SELECT run_id, status, rows_committed::text, start_cursor::text, end_cursor::text FROM tidemark.runs WHERE integration = $1 ORDER BY started_at`,
    [id],
  ).catch(() => [] as RunRow[]);
const runningWorkflows = async () => {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${QUEUE}' AND ExecutionStatus = 'Running'` })) ids.push(wf.workflowId);
  return ids;
};
const describeOrders = () => client.schedule.getHandle(scheduleIdFor('orders')).describe();
const info = async () => (await describeOrders()).info;
/** The listing is eventually consistent: poll it. */
const scheduleIds = async () => {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) ids.push(s.scheduleId);
  return ids;
};

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('sch_src'), createTestDatabase('sch_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  cwd = mkdtempSync(join(tmpdir(), 'tm-sch-'));
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: QUEUE, SRC_URL: src.url, DST_URL: dst.url };
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  // The worker knows every integration the tests put in tidemark.yaml.
  const config = parseConfigText(yaml(integration('orders'), integration('other'), integration('slow')), 'worker.yaml');
  worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: QUEUE,
    config: () => config,
    env,
    worker: { workflowBundle: await workflowBundle() },
  });
  running = worker.run();
});
afterAll(async () => {
  await client?.connection.close();
  worker?.shutdown();
  await running;
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

// An hourly schedule whose next tick is ~30 minutes away, so no tick fires while a test counts actions
// (a plain `every: 1h` ticks on the hour, and once did in the middle of one).
const QUIET_MINUTE = (new Date().getUTCMinutes() + 30) % 60;
const HOURLY = QUIET_MINUTE ? `{every: 1h, offset: ${QUIET_MINUTE}m}` : '{every: 1h}';
const HOURLY_TEXT = QUIET_MINUTE ? `every 1h offset ${QUIET_MINUTE}m` : 'every 1h';

describe('Temporal Schedules (dev server)', () => {
  it('apply creates once, then reports unchanged; updates a changed spec; reports orphans and prunes them', async () => {
    write(yaml(integration('orders', '{every: 1h, offset: 2h}')));
    const bad = await cli('schedule', 'apply');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/integrations\[0\]\.schedule\.offset: must be less than every \(1h\)/);

    write(yaml(integration('orders', '{every: 1h}'), integration('other')));
    expect(await out('schedule', 'apply')).toBe('orders: created (every 1h, overlap skip)\nother: no-schedule (no schedule in the config)\n');
    expect(await out('schedule', 'apply')).toBe('orders: unchanged (every 1h, overlap skip)\nother: no-schedule (no schedule in the config)\n');
    await until(scheduleIds, (ids) => ids.join() === scheduleIdFor('orders'), 'exactly one schedule in the listing');

    write(yaml(integration('orders', '{every: 2h, overlap: buffer_one}'), integration('other', '{cron: "*/5 * * * *"}')));
    expect(await out('schedule', 'apply')).toBe(
      'orders: updated (every 1h → every 2h, overlap skip → buffer_one)\nother: created (cron */5 * * * *, overlap skip)\n',
    );
    expect(await out('schedule', 'apply')).toBe('orders: unchanged (every 2h, overlap buffer_one)\nother: unchanged (cron */5 * * * *, overlap skip)\n');
    expect(await out('schedule', 'list')).toMatch(
      /^orders: every 2h, overlap buffer_one {2}\[tidemark-orders-schedule\]\n {2}actions 0, skipped \(overlap\) 0, missed \(catch-up window\) 0\n {2}running none\n {2}next \d{4}-\S+, \S+, \S+\nother: cron \*\/5 \* \* \* \*, overlap skip/,
    );

    // `other` loses its schedule, `orders` leaves the config.
    write(yaml(integration('other')));
    expect(await out('schedule', 'apply')).toBe(
      'other: orphaned (no schedule in the config any more; `tidemark schedule apply --prune` deletes it)\n' +
        'orders: orphaned (not in the config; `tidemark schedule apply --prune` deletes it)\n',
    );
    const unknown = await cli('schedule', 'trigger', 'orders');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^unknown integration "orders": the config defines "other"\n$/);
    expect(await out('schedule', 'apply', '--prune')).toMatch(/^other: deleted \(no schedule in the config any more \(pruned.*\norders: deleted \(not in the config \(pruned/);
    expect(await out('schedule', 'apply', '--prune')).toBe('other: no-schedule (no schedule in the config)\n');
    await until(scheduleIds, (ids) => ids.length === 0, 'no schedule in the listing');
    expect(await out('schedule', 'list')).toMatch(/^no tidemark schedules/);
    // A config named with --config must load, as for every other command (it was ignored: an acceptance run).
    const missing = await cli('schedule', 'list', '--config', 'no-such.yaml');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such\.yaml/);
    const gone = await cli('schedule', 'pause', 'orders');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('unknown integration "orders": the config defines "other", and Temporal has no schedule tidemark-orders-schedule\n');
  });

  it('trigger starts a scheduled syncWorkflow that copies the rows', async () => {
    write(yaml(integration('orders', HOURLY)));
    await out('schedule', 'apply');
    const started = await out('schedule', 'trigger', 'orders');
    expect(started).toMatch(/^orders: started tidemark-orders-scheduled-\S+\n$/);
    const [first] = await until(runs, (r) => r.length === 1 && r[0]!.status === 'completed', 'the first scheduled run');
    expect(started).toContain(first!.run_id.split('/')[0]);
    expect(first!.rows_committed).toBe(String(ROWS));
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('consecutive scheduled runs chain their cursors: no gap, no overlap', async () => {
    const [first] = await runs();
    await insertOrders(src.url, ROWS + 1, ROWS + 50, { start: '2025-01-01', perTimestamp: 1_000_000 });
    await sleep(1100); // scheduled workflow ids carry the time to the second
    expect(await out('schedule', 'trigger', 'orders')).toMatch(/^orders: started tidemark-orders-scheduled-/);
    const all = await until(runs, (r) => r.length === 2 && r[1]!.status === 'completed', 'the second scheduled run');
    expect(all[1]!.start_cursor).toBe(first!.end_cursor);
    expect(all[1]!.rows_committed).toBe('50');
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect(await out('schedule', 'list')).toMatch(/actions 2, skipped \(overlap\) 0[\s\S]*running none[\s\S]*ran \S+ tidemark-orders-scheduled-[\s\S]*ran \S+ tidemark-orders-scheduled-/);
    // Nothing runs: status shows the workflow started last, the scheduled one (not an older manual run).
    const status = await until(() => out('status', 'orders'), (s) => /^orders: syncWorkflow tidemark-orders-scheduled-\S+ COMPLETED/.test(s), 'status naming the last scheduled run');
    expect(status).toMatch(/last run +sync completed, 50 rows/);
  });

  it('a paused schedule starts nothing; apply keeps it paused; unpause resumes it', async () => {
    write(yaml(integration('orders', '{every: 1s}')));
    expect(await out('schedule', 'apply')).toBe(`orders: updated (${HOURLY_TEXT} → every 1s)\n`);
    const before = (await runs()).length;
    await until(runs, (r) => r.length >= before + 2, 'a run every second');
    expect(await out('schedule', 'pause', 'orders', '--note', 'maintenance')).toBe('orders: paused (maintenance); `tidemark schedule unpause orders` resumes it\n');
    // A tick being processed at the moment of the pause may still start a run: wait until none runs.
    await until(describeOrders, (d) => d.state.paused && d.info.runningActions.length === 0, 'the pause to apply and the last run to end');
    const taken = (await info()).numActionsTaken;
    const count = (await runs()).length;
    await sleep(3500); // three ticks
    expect((await info()).numActionsTaken).toBe(taken);
    expect((await runs()).length).toBe(count);
    // Paused again without a note: the note it has stays (as on the operator's page).
    expect(await out('schedule', 'pause', 'orders')).toBe('orders: already paused (maintenance): nothing changed; `tidemark schedule unpause orders` resumes it\n');
    expect(await out('schedule', 'list')).toMatch(/^orders: every 1s, overlap skip, PAUSED \(maintenance\)[\s\S]*\n {2}next \S+, \S+, \S+ \(not while paused\)\n/);
    expect(await out('schedule', 'apply')).toBe('orders: unchanged (every 1s, overlap skip; paused: maintenance; `tidemark schedule unpause orders` resumes it)\n');
    // status --all says so, with the note, and no next run (found by an acceptance run: it said "ok").
    expect(await out('status', '--all')).toMatch(/^orders +paused \(maintenance\) .* next -$/m);
    expect(await out('schedule', 'unpause', 'orders')).toBe('orders: unpaused\n');
    await until(runs, (r) => r.length >= count + 2, 'runs after unpause');
    expect(await out('schedule', 'delete', 'orders')).toMatch(/^orders: deleted tidemark-orders-schedule.*the next `schedule apply` creates it again\n$/);
    await until(runningWorkflows, (ids) => ids.length === 0, 'the last runs to end');
    const all = await runs();
    expect(all.every((r) => r.status === 'completed' || r.status === 'skipped')).toBe(true);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('list shows running actions and counts a trigger skipped because a run was still going', async () => {
    write(yaml(integration('slow', HOURLY)));
    expect(await out('schedule', 'apply')).toBe(`slow: created (${HOURLY_TEXT}, overlap skip)\n`);
    const started = (await out('schedule', 'trigger', 'slow')).match(/^slow: started (\S+)\n$/)?.[1];
    expect(started).toMatch(/^tidemark-slow-scheduled-/);
    await until(() => runs('slow'), (r) => r.length === 1, 'the slow run to start');
    expect(await out('schedule', 'trigger', 'slow')).toBe(`slow: skipped: ${started} is still running (overlap skip)\n`);
    const [view] = JSON.parse(await out('schedule', 'list', '--json')) as ScheduleView[];
    expect(view).toMatchObject({ integration: 'slow', overlap: 'skip', paused: false, actionsTaken: 1, skippedOverlap: 1, running: [started] });
    expect(view!.recentActions.map((a) => a.workflowId)).toEqual([started]);
    expect(view!.nextActionTimes).toHaveLength(3);
    expect(await out('schedule', 'list')).toMatch(`actions 1, skipped (overlap) 1, missed (catch-up window) 0\n  running ${started}\n`);
    await client.workflow.getHandle(started!).terminate('test done');
    await out('schedule', 'delete', 'slow');
  });
});
