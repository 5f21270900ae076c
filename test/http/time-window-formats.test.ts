import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { useFakeApiTarget } from './fakes/fake-target';
import { fakeConfig } from './fakes/fake-config';
import type { FakeApi } from './fakes/fake-server';
import { startEpochWindowFake } from './fakes/epoch-window-fake';
import { expectExactCopy, ORDER_COLUMNS, pause, rewritten, rowVersions, runner, TOKEN } from './helpers';

const RECORDS = 1_200;
let api: FakeApi | undefined;
let config: Config;
const r = runner(
  () => config,
  () => ({ API_URL: api!.url, API_TOKEN: TOKEN, DST_URL: dst.url }),
);

const dst = useFakeApiTarget('http_time_formats', async () => {
  await api?.close();
  api = undefined;
});

const epochSource = (pagination: Record<string, unknown> = {}) => ({
  url: '${API_URL}/v2/changes',
  headers: { Authorization: 'Bearer ${API_TOKEN}' },
  records: 'results',
  pagination: { style: 'time_window', fromParam: 'since_ms', toParam: 'until_ms', field: 'updated', format: 'epoch_ms', hasMore: 'has_more', maxPageSize: 1000, ...pagination },
  // The time column is read from an epoch-ms number into timestamptz, exactly.
  columns: { ...ORDER_COLUMNS, updated_at: { type: 'timestamptz', from: 'updated', format: 'epoch_ms' } },
});

describe('time windows in epoch milliseconds, end to end', () => {
  it('backfill, then a sync reads exactly the changed records; window bounds are sent as epoch ms', async () => {
    api = await startEpochWindowFake(RECORDS, 41, TOKEN);
    config = fakeConfig(epochSource());
    const full = await r.run({ runKey: 'ems/backfill' });
    expect(full).toMatchObject({ rows: RECORDS, done: true });
    await expectExactCopy(dst.url, api.data);
    for (const q of api.log) expect(q.url.searchParams.get('since_ms')).toMatch(/^\d+$/);
    const before = await rowVersions(dst.url);
    const m = api.data.mutate(150);
    await pause(5);
    const changed = [...m.updated, ...m.inserted].sort((a, b) => a - b);
    const sync = await r.run({ runKey: 'ems/sync', mode: 'sync', after: full.cursor });
    expect(sync).toMatchObject({ rows: changed.length, done: true });
    expect(rewritten(before, await rowVersions(dst.url))).toEqual(changed);
    await expectExactCopy(dst.url, api.data);
  });

  it('window bounds in whole seconds over records with milliseconds fail loudly instead of skipping', async () => {
    api = await startEpochWindowFake(RECORDS, 42, TOKEN);
    config = fakeConfig(epochSource({ format: 'epoch_seconds', fieldFormat: 'epoch_ms', fromParam: 'since_s', toParam: 'until_s' }), { batchSize: 20 });
    await expect(r.run({ runKey: 'es/backfill' })).rejects.toMatchObject({ message: expect.stringMatching(/source\.pagination\.format: records carry updated = .*, finer than the API's window bounds \(epoch_seconds\)/) as string, nonRetryable: true });
  });
});
