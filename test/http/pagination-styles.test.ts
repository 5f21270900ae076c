import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { apiConfig, expectExactCopy, httpSource, pause, rewritten, rowVersions, runner, TOKEN, type Style } from './helpers';

const RECORDS = 2_500;
let dst: TestDatabase;
let api: MockApi;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

beforeAll(async () => {
  dst = await createTestDatabase('http_styles');
});
afterAll(async () => {
  await api?.close();
  await dst?.drop();
});
beforeEach(async () => {
  await api?.close();
  api = await startMockApi({ records: RECORDS, seed: 11, token: TOKEN });
  await sql(dst.url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

/** The biggest group of records sharing one updated_at: it must span several 100-record pages. */
function largestTimestampGroup(): number {
  const counts = new Map<string, number>();
  for (const o of api.snapshot()) counts.set(o.updated_at, (counts.get(o.updated_at) ?? 0) + 1);
  return Math.max(...counts.values());
}

describe('http source: each pagination style end to end through the activity', () => {
  it('the dataset has timestamp groups larger than a page (the boundary case)', () => {
    expect(largestTimestampGroup()).toBeGreaterThan(200);
  });

  // Styles that see updates: a sync after changes reads exactly the changed records, once.
  for (const style of ['time_window', 'cursor', 'page'] as const satisfies Style[]) {
    it(`${style}: backfill equals the API's dataset; syncs after bulk changes read exactly those records`, async () => {
      config = apiConfig(style);
      const full = await r.run({ runKey: `${style}/backfill` });
      expect(full).toMatchObject({ rows: RECORDS, done: true });
      expect(await expectExactCopy(dst.url, api)).toBe(RECORDS);

      // Round 1: 250 changes with one updated_at (spans three 100-record pages); round 2: 130 more.
      let after = full.cursor;
      for (const [round, n] of [
        [1, 250],
        [2, 130],
      ] as const) {
        const before = await rowVersions(dst.url);
        const m = api.mutate(n);
        // The run's upper bound (now - lag) must be past the changes' timestamp; a pass's is floored to the whole
        // second (the next pass re-reads up to a second), so the sync starts in the next second: no overlap then.
        await pause(1005 - (Date.now() % 1000));
        const changed = [...m.updated, ...m.inserted].sort((a, b) => a - b);
        const sync = await r.run({ runKey: `${style}/sync-${round}`, mode: 'sync', after });
        // No gap (every changed record) and no overlap (nothing else, not round 1 again).
        expect(sync).toMatchObject({ rows: changed.length, done: true });
        expect(rewritten(before, await rowVersions(dst.url))).toEqual(changed);
        await expectExactCopy(dst.url, api);
        after = sync.cursor;
      }
      if (style === 'time_window') {
        // Contiguous windows: each sync starts exactly where the previous one ended.
        const runs = await sql<{ run_id: string; start_cursor: unknown; end_cursor: unknown }>(dst.url, `SELECT run_id, start_cursor, end_cursor FROM tidemark.runs ORDER BY started_at`);
        expect(runs.map((x) => x.run_id)).toEqual(['time_window/backfill', 'time_window/sync-1', 'time_window/sync-2']);
        expect(runs[1]!.start_cursor).toEqual(runs[0]!.end_cursor);
        expect(runs[2]!.start_cursor).toEqual(runs[1]!.end_cursor);
      }
    });
  }

  // A live API: orders keep changing while the backfill pages through them; once the changes stop,
  // one sync brings the target to exactly the API's state (nothing lost at any page boundary).
  for (const style of ['time_window', 'cursor', 'page'] as const satisfies Style[]) {
    it(`${style}: a backfill during continuous changes plus one sync equals the final dataset`, async () => {
      config = apiConfig(style, { requestsPerSecond: 25 });
      api.setChangesPerSecond(300);
      const full = await r.run({ runKey: `${style}/live-backfill` });
      api.setChangesPerSecond(0);
      await pause(150); // the change timer's last tick has run
      const changedMeanwhile = api.snapshot().filter((o) => o.version > 1).length;
      expect(changedMeanwhile).toBeGreaterThan(100);
      const sync = await r.run({ runKey: `${style}/live-sync`, mode: 'sync', after: full.cursor });
      // Bounded styles leave changes after their upper bound to the sync; a token scan reads on to the
      // live end of the list, so it may have caught every change already.
      if (style !== 'cursor') expect(sync.rows).toBeGreaterThan(0);
      await expectExactCopy(dst.url, api);
    });
  }

  it('starting_after: backfill equals the dataset; a sync reads exactly the new records (an append-only style)', async () => {
    config = apiConfig('starting_after');
    const full = await r.run({ runKey: 'sa/backfill' });
    expect(full).toMatchObject({ rows: RECORDS, done: true, cursor: { startingAfter: RECORDS } });
    expect(await expectExactCopy(dst.url, api)).toBe(RECORDS);
    const m = api.mutate(200);
    const sync = await r.run({ runKey: 'sa/sync', mode: 'sync', after: full.cursor });
    expect(sync.rows).toBe(m.inserted.length);
    const ids = await sql<{ id: string }>(dst.url, `SELECT id::text FROM api.orders WHERE id > ${RECORDS} ORDER BY id`);
    expect(ids.map((x) => Number(x.id))).toEqual(m.inserted);
  });

  it('page: a pass resumed with another batchSize keeps its page size (no gap, no overlap)', async () => {
    config = apiConfig('page');
    const crash = new Error('worker died');
    const afterBatch = async ({ pages }: { pages: number }) => {
      if (pages === 3) throw crash;
    };
    await expect(r.run({ runKey: 'pg/resize' }, undefined, { afterBatch })).rejects.toBe(crash);
    const [cp] = await sql<{ cursor: Record<string, unknown> }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(cp!.cursor).toMatchObject({ since: null, page: 3, perPage: 100 });
    config = apiConfig('page', {}, { batchSize: 70 });
    const res = await r.run({ runKey: 'pg/resize' }, new MockActivityEnvironment({ attempt: 2 }));
    expect(res).toMatchObject({ rows: RECORDS, done: true });
    const [run] = await sql(dst.url, `SELECT rows_read::text AS read, rows_committed::text AS committed FROM tidemark.runs WHERE run_id = 'pg/resize'`);
    expect(run).toEqual({ read: String(RECORDS), committed: String(RECORDS) }); // nothing read twice
    await expectExactCopy(dst.url, api);
  });

  it('time_window with maxWindow: one request per window at most that long, up to the upper bound', async () => {
    const hw = '2024-01-01T00:10:00.000Z';
    const s = await httpSource(api, 'time_window', { pagination: { style: 'time_window', start: '2024-01-01T00:00:00Z', maxWindow: '1m' } }, { highWater: hw });
    let rows = 0;
    let last: unknown;
    for await (const p of s.pages(null, { limit: 1000 })) {
      rows += p.rows.length;
      last = p.cursor;
    }
    expect(rows).toBe(api.snapshot().filter((o) => Date.parse(o.updated_at) < Date.parse(hw)).length);
    expect(rows).toBeGreaterThan(100);
    expect(last).toEqual({ from: hw });
    expect(s.stats.requests).toBeGreaterThanOrEqual(10); // ten 1-minute windows (the source checks each answer lies inside its window)
    await s.close();
  });

  it('time_window: a run with nothing new still moves its cursor to its upper bound (the next window starts there)', async () => {
    config = apiConfig('time_window');
    const first = await r.run({ runKey: 'tw/1' });
    await pause(5);
    const empty = await r.run({ runKey: 'tw/2', mode: 'sync', after: first.cursor });
    expect(empty.rows).toBe(0);
    const from = (c: unknown) => (c as { from: string }).from;
    expect(Date.parse(from(empty.cursor))).toBeGreaterThan(Date.parse(from(first.cursor)));
  });
});
