import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import type { Order } from '../../src/mock-api';
import { sql } from '../helpers/fixtures';
import { useFakeApiTarget } from './fakes/fake-target';
import { fakeConfig } from './fakes/fake-config';
import type { FakeApi } from './fakes/fake-server';
import { startStripeFake } from './fakes/stripe-fake';
import { expectExactCopy, pause, runner, TOKEN } from './helpers';

const RECORDS = 800;
let api: FakeApi | undefined;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

const dst = useFakeApiTarget('http_newest_first', async () => {
  await api?.close();
  api = undefined;
});

const stripe = (pagination: Record<string, unknown> = {}) =>
  fakeConfig({
    url: '${API_URL}/v1/charges',
    headers: { Authorization: 'Bearer ${API_TOKEN}' },
    records: 'data',
    pagination: { style: 'time_slices', format: 'epoch_seconds', start: '2023-12-01T00:00:00Z', inner: { style: 'starting_after', maxPageSize: 100 }, ...pagination },
  });

describe('newest-first lists (Stripe-like): time slices with inner pagination', () => {
  it('backfill, then a sync reads exactly the new charges (no gap at the slice bound)', async () => {
    api = await startStripeFake(RECORDS, 61, TOKEN);
    config = stripe();
    const full = await r.run({ runKey: 'st/backfill' });
    expect(full).toMatchObject({ rows: RECORDS, done: true, cursor: { from: expect.stringMatching(/:\d\d\.000Z$/) as string } });
    await expectExactCopy(dst.url, api.data);
    const before = api.data.snapshot();
    const m = api.data.mutate(150);
    await pause(1100); // the next run's bound, in whole seconds, is past the new charges' second
    const sync = await r.run({ runKey: 'st/sync', mode: 'sync', after: full.cursor });
    // Creation times do not change: the new charges, and only they, are in the next slice.
    expect(sync).toMatchObject({ rows: m.inserted.length, done: true });
    const now = new Map(api.data.snapshot().map((o) => [o.id, o]));
    const expected: Order[] = [...before, ...m.inserted.map((id) => now.get(id) as Order)];
    await expectExactCopy(dst.url, { snapshot: () => expected });
    // Each request carried its slice's bounds in epoch seconds, and at most 100 records were asked.
    for (const q of api.log) {
      expect(q.url.searchParams.get('created[gte]')).toMatch(/^\d+$/);
      expect(Number(q.url.searchParams.get('limit'))).toBeLessThanOrEqual(100);
    }
  });

  it('a run resumed inside a slice continues from the inner position (cursor {from, to, inner})', async () => {
    api = await startStripeFake(RECORDS, 62, TOKEN);
    config = stripe();
    const crash = new Error('worker died');
    const afterBatch = async ({ pages }: { pages: number }) => {
      if (pages === 3) throw crash;
    };
    await expect(r.run({ runKey: 'st/resume' }, undefined, { afterBatch })).rejects.toBe(crash);
    const [cp] = await sql<{ cursor: Record<string, unknown> }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(cp!.cursor).toMatchObject({ from: expect.any(String) as string, to: expect.any(String) as string, inner: { startingAfter: expect.anything() as unknown } });
    const res = await r.run({ runKey: 'st/resume' }, new MockActivityEnvironment({ attempt: 2 }));
    expect(res).toMatchObject({ done: true });
    const [run] = await sql(dst.url, `SELECT rows_read::text AS read FROM tidemark.runs WHERE run_id = 'st/resume'`);
    expect(run).toEqual({ read: String(RECORDS) }); // nothing read twice, nothing skipped
    await expectExactCopy(dst.url, api.data);
  });

  it('feed mode (no filter): each run reads from the top and stops at the first charge older than the cursor', async () => {
    api = await startStripeFake(RECORDS, 63, TOKEN);
    config = fakeConfig({
      url: '${API_URL}/v1/charges',
      headers: { Authorization: 'Bearer ${API_TOKEN}' },
      records: 'data',
      pagination: { style: 'feed', field: 'created', fieldFormat: 'epoch_seconds', inner: { style: 'starting_after', maxPageSize: 100 } },
    });
    const full = await r.run({ runKey: 'feed/backfill' });
    const newest = Math.max(...api.data.snapshot().map((o) => Date.parse(o.created_at)));
    expect(full).toMatchObject({ rows: RECORDS, done: true, cursor: { since: new Date(Math.floor(newest / 1000) * 1000).toISOString() } });
    await expectExactCopy(dst.url, api.data);
    const before = api.data.snapshot();
    const m = api.data.mutate(150);
    const requestsBefore = api.log.length;
    const sync = await r.run({ runKey: 'feed/sync', mode: 'sync', after: full.cursor });
    // The new charges, plus the previous newest one (at exactly the cursor: re-read, harmless).
    expect(sync).toMatchObject({ rows: m.inserted.length + 1, done: true });
    // It stopped early: two pages of 100 at most, not the whole list.
    expect(api.log.length - requestsBefore).toBeLessThanOrEqual(2);
    const now = new Map(api.data.snapshot().map((o) => [o.id, o]));
    await expectExactCopy(dst.url, { snapshot: () => [...before, ...m.inserted.map((id) => now.get(id) as Order)] });
  });
});
