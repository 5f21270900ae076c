import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { startIntegrationRun } from '../../src/client';
import { resolveEnvRefs, type Config } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { createHttpSource } from '../../src/sources/http';
import { route } from '../../src/mock-api/routes';
import { timeSkippingEnv } from '../setup/database';
import { sql } from '../helpers/fixtures';
import { testWorker, uniqueQueue } from '../helpers/temporal';
import { fakeConfig } from './fakes/fake-config';
import { startFake, type FakeApi } from './fakes/fake-server';
import { useFakeApiTarget } from './fakes/fake-target';
import { startStripeFake } from './fakes/stripe-fake';
import { expectExactCopy, pause, rewritten, rowVersions, TOKEN } from './helpers';

/**
 * Parallel slices (issue 13 item 8): `backfill --shards 4` of a time-filtered API on the time-skipping
 * server with a real worker, real PostgreSQL and a fake API on a real local HTTP server.
 */
const RECORDS = 2_000;
let env: TestWorkflowEnvironment;
let api: FakeApi | undefined;
const vars = () => ({ API_URL: api!.url, API_TOKEN: TOKEN, DST_URL: dst.url });

const dst = useFakeApiTarget('http_shards', async () => {
  await api?.close();
  api = undefined;
});
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** The mock API's time window route (`from <= updated_at < to`, ascending, has_more), answered by a fake that logs every request. */
const startWindowFake = (records: number, seed: number, delayMs = 0) =>
  startFake(records, seed, (req, data) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, body: { error: 'unauthorized' } };
    const r = route(req.url.pathname, req.url.searchParams, data);
    return r ? { status: r.status, body: r.body, delayMs } : { status: 404, body: { error: 'not found' } };
  });

const windowConfig = (integration: Record<string, unknown> = {}) =>
  fakeConfig(
    {
      url: '${API_URL}/v1/orders/window',
      headers: { Authorization: 'Bearer ${API_TOKEN}' },
      records: 'data',
      pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more' },
      lag: '0s',
    },
    integration,
  );

interface SlotRow {
  slot: string;
  status: string;
  rows_done: string;
  cursor: string;
  start_cursor: string;
  until_cursor: string | null;
  end_cursor: string | null;
}
const shardSlots = () =>
  sql<SlotRow>(dst.url, `SELECT slot, status, rows_done::text, cursor::text, start_cursor::text, until_cursor::text, end_cursor::text FROM tidemark.checkpoints WHERE slot LIKE 'backfill/%' ORDER BY slot`);

/**
 * The slots' ranges, [start, until), ascending and apart: each bounded one read exactly to its end, the one to
 * the high-water mark last. (A shard that finished its range and took part of another's now names only that
 * part: work stealing moves ends, and the finished range needs no slot; where the range to the high-water mark
 * ended stays on its slot, end_cursor, exactly one.) Returns the inner bounds, ascending.
 */
function expectRanges(slots: SlotRow[]): string[] {
  const ranges = slots
    .map((s) => ({ start: JSON.parse(s.start_cursor) as { from: string } | null, until: JSON.parse(s.until_cursor ?? 'null') as { from: string } | null, cursor: s.cursor, untilText: s.until_cursor }))
    .sort((a, b) => (a.start?.from ?? '').localeCompare(b.start?.from ?? ''));
  expect(slots.filter((s) => s.end_cursor !== null)).toHaveLength(1);
  const open = ranges.filter((r) => r.until === null);
  expect(open.length).toBeLessThanOrEqual(1);
  if (open.length) expect(ranges[ranges.length - 1]!.until).toBeNull();
  for (let i = 0; i + 1 < ranges.length; i++) expect(ranges[i]!.until!.from <= ranges[i + 1]!.start!.from).toBe(true);
  for (const r of open.length ? ranges.slice(0, -1) : ranges) expect(r.cursor).toBe(r.untilText);
  return ranges.slice(1).map((r) => r.start!.from);
}

async function scheduledActivities(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name!);
}

async function backfill(config: Config, shards: number, extra: Parameters<typeof testWorker>[4] = {}): Promise<{ result: RunResult; workflowId: string }> {
  const taskQueue = uniqueQueue('http-shards');
  const w = await testWorker(env, taskQueue, config, vars(), extra);
  return await w.runUntil(async () => {
    const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'api', shards }, taskQueue);
    return { result: (await handle.result()) as RunResult, workflowId: handle.workflowId };
  });
}

describe('parallel slices for HTTP backfills (time-skipping server, real worker, fake API)', () => {
  it('time_window, 4 slices: target exact, every slice done at its bound; a slice that failed resumes from its own checkpoint', async () => {
    api = await startWindowFake(RECORDS, 81);
    const config = windowConfig();
    // Slice 2 fails once after its first page: its retry must continue from its checkpoint, not its start.
    // (After the first, not a later page: the slices are cut by time, and bursts of records at one time can
    // leave a slice only two pages of this small dataset; the retry must still have a page to read.)
    let failed: { at: number; cursor: { from: string }; start: { from: string }; until: { from: string } } | undefined;
    const afterBatch = async ({ shard, attempt, pages }: { shard?: number; attempt: number; pages: number }) => {
      if (shard !== 2 || attempt !== 1 || pages !== 1) return;
      const [cp] = await sql<{ cursor: { from: string }; start_cursor: { from: string }; until_cursor: { from: string } }>(
        dst.url,
        `SELECT cursor, start_cursor, until_cursor FROM tidemark.checkpoints WHERE slot = 'backfill/2'`,
      );
      failed = { at: Date.now(), cursor: cp!.cursor, start: cp!.start_cursor, until: cp!.until_cursor };
      throw new Error('injected failure after the second page of slice 2');
    };
    const { result, workflowId } = await backfill(config, 4, { afterBatch });
    expect(result).toMatchObject({ rows: RECORDS, done: true });
    expect(await scheduledActivities(workflowId)).toEqual(['planBackfill', 'runIntegration', 'runIntegration', 'runIntegration', 'runIntegration', 'finishBackfill']);
    await expectExactCopy(dst.url, api.data);

    const slots = await shardSlots();
    expect(slots.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    const sizes = slots.map((s) => Number(s.rows_done));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(RECORDS); // a page rolled back by a take counts once, when committed
    // Slices of similar time span over where the records are (not one slice from 1970 to 2024 and three empty ones),
    // and a shard that finished first took part of a fuller one (work stealing).
    for (const n of sizes) expect(n).toBeGreaterThan(RECORDS / 12);
    console.log(`time_window, 4 slices: ${sizes.join(' / ')} records`);
    // The slots' ranges tile the backfill, [start, until): the first from the start, each ending where the next
    // starts, the last at the high-water mark; each bounded one read exactly to its end.
    const bounds = expectRanges(slots);
    for (const b of bounds) expect(b).toMatch(/^2024-01-01T\d\d:\d\d:\d\d\.\d{3}Z$/); // round bounds where the records are, not in 1970
    const reads = api.log.filter((q) => q.url.searchParams.get('limit') !== '1');

    // The retried slice: its first request after the failure starts at its checkpoint, inside the slice.
    expect(failed).toBeDefined();
    const inFailedSlice = (q: (typeof reads)[number]) => q.url.searchParams.get('from')! >= failed!.start.from && q.url.searchParams.get('from')! < failed!.until.from;
    const firstRetry = reads.find((q) => q.at > failed!.at && inFailedSlice(q));
    expect(firstRetry?.url.searchParams.get('from')).toBe(failed!.cursor.from);
    expect(failed!.cursor.from > failed!.start.from).toBe(true);
    const [run] = await sql<{ rows_read: string; status: string }>(dst.url, `SELECT rows_read::text, status FROM tidemark.runs WHERE kind = 'backfill'`);
    expect(run!.status).toBe('completed');
    expect(Number(run!.rows_read) - RECORDS).toBeLessThanOrEqual(100); // at most the page in flight read again

    // The next sync continues from the last slice's end and reads exactly what changed.
    const before = await rowVersions(dst.url);
    const m = api.data.mutate(40);
    await pause(5);
    const taskQueue = uniqueQueue('http-shards-sync');
    const w = await testWorker(env, taskQueue, config, vars());
    const sync = (await w.runUntil(env.client.workflow.execute('syncWorkflow', { taskQueue, workflowId: 'http-shards-sync', args: [{ integration: 'api' }] }))) as RunResult;
    const changed = [...m.updated, ...m.inserted].sort((a, b) => a - b);
    expect(sync).toMatchObject({ rows: changed.length, done: true });
    expect(rewritten(before, await rowVersions(dst.url))).toEqual(changed);
    await expectExactCopy(dst.url, api.data);
  });

  it('work stealing: a last slice holding most records (a business that grew) is shared by the shards that finish first', async () => {
    api = await startWindowFake(300, 85, 40);
    // 4,000 changes in 8 seconds after the first records' 25: slices cut by time leave most records in one or
    // two of them. Five at each instant (a page of 10 must hold a tie group).
    for (let k = 0; k < 800; k++) api.data.mutate(5, Date.UTC(2024, 0, 1) + 30_000 + k * 10);
    const total = api.data.snapshot().length;
    const t0 = performance.now();
    const { result } = await backfill(windowConfig({ batchSize: 10 }), 4);
    const seconds = (performance.now() - t0) / 1000;
    expect(result).toMatchObject({ rows: total, done: true });
    await expectExactCopy(dst.url, api.data);
    const slots = await shardSlots();
    expect(slots.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    const sizes = slots.map((s) => Number(s.rows_done));
    console.log(`work stealing, 4 slices of ${total} records: ${sizes.join(' / ')} in ${seconds.toFixed(2)} s (${api.log.length} requests, ${api.log.filter((q) => q.url.searchParams.get('limit') === '1').length} of one record)`);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
    // The shards that finished their thin slices took parts of the full one (without taking, the last slice reads
    // all but 3 of the 1,099 records, in 10.5 s here; with it every shard read 15–35 %, in 6.1–6.4 s).
    expect(sizes.filter((n) => n > total / 10).length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sizes)).toBeLessThan(total * 0.5);
    expectRanges(slots);
    // The sync after it starts where the range to the high-water mark ended, whichever shard held it last (and
    // whatever that shard took after it).
    const ended = slots.find((s) => s.end_cursor !== null)!;
    expect(await sql(dst.url, `SELECT cursor::text FROM tidemark.checkpoints WHERE slot = 'sync'`)).toEqual([{ cursor: ended.end_cursor }]);
    const [run] = await sql<{ rows_read: string; status: string }>(dst.url, `SELECT rows_read::text, status FROM tidemark.runs WHERE kind = 'backfill'`);
    expect(run!.status).toBe('completed');
    console.log(`rows read ${run!.rows_read} for ${total} (pages in flight when a range shrank are read again)`);
  });

  it('work stealing: records packed into a sliver of the full slice (a burst) are found by a finer second look, and shared', async () => {
    api = await startWindowFake(300, 86, 40);
    // 4,000 changes within 0.8 s, 5 at each millisecond: one or two sixteenths of what the last slice has left, so
    // a sample of one request per sixteenth saw a page or two and never took (an acceptance run: one shard read
    // 12,000 records alone); its full spans are cut again.
    for (let k = 0; k < 800; k++) api.data.mutate(5, Date.UTC(2024, 0, 1) + 30_000 + k);
    const total = api.data.snapshot().length;
    const { result } = await backfill(windowConfig({ batchSize: 10 }), 4);
    expect(result).toMatchObject({ rows: total, done: true });
    await expectExactCopy(dst.url, api.data);
    const slots = await shardSlots();
    const sizes = slots.map((s) => Number(s.rows_done));
    console.log(`work stealing, a burst of 4,000 in 0.8 s: ${sizes.join(' / ')} (${api.log.length} requests)`);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
    expect(sizes.filter((n) => n > total / 10).length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sizes)).toBeLessThan(total * 0.75);
    expectRanges(slots);
  });

  it('time_slices on a newest-first API (Stripe-like, epoch seconds, starting_after inside): 4 slices, target exact', async () => {
    api = await startStripeFake(600, 82, TOKEN);
    const config = fakeConfig({
      url: '${API_URL}/v1/charges',
      headers: { Authorization: 'Bearer ${API_TOKEN}' },
      records: 'data',
      pagination: { style: 'time_slices', format: 'epoch_seconds', inner: { style: 'starting_after', maxPageSize: 100 } },
    });
    const { result } = await backfill(config, 4);
    expect(result).toMatchObject({ rows: 600, done: true });
    await expectExactCopy(dst.url, api.data);
    const slots = await shardSlots();
    expect(slots.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    for (const s of slots.slice(0, 3)) expect(s.cursor).toBe(s.until_cursor);
    for (const s of slots) expect(Number(s.rows_done)).toBeGreaterThan(600 / 8);
    // Every request the slices sent was inside its slice, in whole epoch seconds.
    for (const q of api.log) expect(q.url.searchParams.get('created[gte]')).toMatch(/^\d+$/);
  });

  it('with maxWindow (the API limits the window) the slices cut [start, high-water) evenly, without probes', async () => {
    api = await startWindowFake(50, 84);
    const cfg = windowConfig().integrations[0]!.source as HttpSourceConfig;
    const source = await createHttpSource({ ...cfg, pagination: { ...cfg.pagination, maxWindow: 3_600_000, start: '2024-01-01T00:00:00.000Z' } as HttpSourceConfig['pagination'] }, (v, f) => resolveEnvRefs(v, f, vars()));
    try {
      await source.prepare({ highWater: '2024-01-05T00:00:00.000Z' });
      expect(await source.split!(null, 4)).toEqual([{ from: '2024-01-02T00:00:00.000Z' }, { from: '2024-01-03T00:00:00.000Z' }, { from: '2024-01-04T00:00:00.000Z' }]);
      expect(await source.split!({ from: '2024-01-03T12:00:00.000Z' }, 2)).toEqual([{ from: '2024-01-04T06:00:00.000Z' }]);
      expect(api.log).toHaveLength(0); // no probe wider than the API allows
    } finally {
      await source.close();
    }
  });

  it('a style that cannot be sliced fails the sharded backfill at once, saying why and what to do', async () => {
    api = await startWindowFake(50, 83);
    const config = fakeConfig({ url: '${API_URL}/v1/orders/cursor', headers: { Authorization: 'Bearer ${API_TOKEN}' }, records: 'data', pagination: { style: 'cursor' } });
    const err = (await backfill(config, 4).catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = err.cause?.cause as (Error & { nonRetryable?: boolean }) | undefined;
    expect(cause?.message).toMatch(/source\.pagination\.style: pagination style cursor cannot be cut into parallel slices: .*Run the backfill without --shards; .*time_window .* or time_slices/);
    expect(cause?.nonRetryable).toBe(true);
    expect(api.log).toHaveLength(0); // refused before any request
    expect(await sql(dst.url, `SELECT count(*)::int AS n FROM tidemark.checkpoints WHERE slot LIKE 'backfill/%'`)).toEqual([{ n: 0 }]);
  });
});
