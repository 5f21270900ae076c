import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { migrate } from '../../src/db/migrate';
import { createShardSlots, startRun, stealRange } from '../../src/db/state';
import { route } from '../../src/mock-api/routes';
import { sortKeyOfNs } from '../../src/sources/http/time-split';
import { sql } from '../helpers/fixtures';
import { fakeConfig } from './fakes/fake-config';
import { startFake, type FakeApi } from './fakes/fake-server';
import { useFakeApiTarget } from './fakes/fake-target';
import { expectExactCopy, TOKEN } from './helpers';

/**
 * A take while the giving shard has pages in flight (issue 13, work stealing): the pages it read with its old end
 * that lie before the cut commit (the relaxed page fence, migration 013); only the page that crosses the cut is read
 * again, up to it. Activities run as a worker runs them (real HTTP, real PostgreSQL); the take is made by hand
 * after the shard's first page, while its second is being read.
 */
const RUN = 'backfill/relaxed';
const PAGE = 10;
const T0 = Date.UTC(2024, 0, 2);
const iso = (k: number) => new Date(T0 + k * 1000).toISOString();
const START = '2023-12-31T00:00:00.000Z';
/** The shard's range end before the take: past every record. */
const END = iso(1000);
const keyOf = (t: string) => sortKeyOfNs(BigInt(Date.parse(t)) * 1_000_000n) as string;
const quiet = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });
let api: FakeApi | undefined;
let db: pg.Client | undefined;
const dst = useFakeApiTarget('relaxed_fence', async () => {
  await api?.close();
  api = undefined;
});
beforeEach(async () => {
  db = new pg.Client({ connectionString: dst.url });
  await db.connect();
  await migrate(db);
});
afterEach(async () => {
  await db?.end();
});

describe('a take with pages in flight (real HTTP, real PostgreSQL)', () => {
  it('the pages read before the take that lie before the cut commit; only the page crossing it is read again', async () => {
    // 60 orders one second apart (each `mutate` moves or adds one), read in pages of 10 from a slow API.
    api = await startFake(1, 91, (req, data) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, body: { error: 'unauthorized' } };
      const r = route(req.url.pathname, req.url.searchParams, data);
      return r ? { status: r.status, body: r.body, delayMs: 60 } : { status: 404, body: { error: 'not found' } };
    });
    for (let k = 0; api.data.snapshot().length < 60; k++) api.data.mutate(1, T0 + k * 1000);
    const times = api.data.snapshot().map((o) => o.updated_at).sort();
    expect(new Set(times).size).toBe(60);
    const config = fakeConfig(
      { url: '${API_URL}/v1/orders/window', headers: { Authorization: 'Bearer ${API_TOKEN}' }, records: 'data', pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more', start: START }, lag: '0s' },
      { batchSize: PAGE },
    );
    const client = db as pg.Client;
    // Slot 0 reads [start, END); slot 1 [END, now), empty: its shard is done and takes the later part of slot 0.
    await startRun(client, RUN, 'api', 'backfill', null);
    await createShardSlots(client, 'api', RUN, new Date().toISOString(), [
      { from: null, until: { from: END } },
      { from: { from: END }, until: null },
    ]);
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done' WHERE slot = 'backfill/1'`);
    // Pages end before their last record's time: page k (k >= 1) commits cursor times[9k]. The cut lies between the
    // third page's cursor and the fourth's.
    const cut = times[32] as string;
    let thief: Promise<RunResult> | undefined;
    const acts = createActivities({
      config: () => config,
      env: { API_URL: api.url, API_TOKEN: TOKEN, DST_URL: dst.url },
      afterBatch: async ({ shard, pages }) => {
        if (shard !== 0 || pages !== 1 || thief) return;
        // As stealWork makes it: the cut's key, and where the giving slot stands (its first page's cursor).
        const took = await stealRange(client, 'api', RUN, 1, (slots) => ({ victim: 0, at: { from: cut }, keys: { cut: keyOf(cut), floor: keyOf((slots[0]!.cursor as { from: string }).from) } }));
        expect(took).toEqual({ cursor: { from: cut }, until: { from: END } });
        thief = quiet().run(acts.runIntegration, input(1)) as Promise<RunResult>;
      },
    });
    const input = (shard: number): RunInput => ({ integration: 'api', mode: 'backfill', runKey: RUN, shard, shards: 2 });
    const giver = (await quiet().run(acts.runIntegration, input(0))) as RunResult;
    const taker = await (thief as Promise<RunResult>);
    expect(giver).toMatchObject({ done: true, cursor: { from: cut } });
    expect(taker).toMatchObject({ done: true, cursor: { from: END } });
    expect(giver.rows + taker.rows).toBe(60);
    await expectExactCopy(dst.url, api.data);
    const slots = await sql<{ slot: string; rows_done: string; cursor: { from: string } }>(dst.url, `SELECT slot, rows_done::text, cursor FROM tidemark.checkpoints WHERE slot LIKE 'backfill/%' ORDER BY slot`);
    expect(slots.map((s) => [s.slot, Number(s.rows_done), s.cursor.from])).toEqual([
      ['backfill/0', 32, cut],
      ['backfill/1', 28, END],
    ]);

    // The giving shard's page requests: each read once with the old end, but the one that crossed the cut, which was
    // read again up to it (one request). With every page in flight rolled back, the second and third pages would
    // have been read again too.
    const pages = api.log.filter((q) => q.url.searchParams.get('limit') === String(PAGE) && Date.parse(q.url.searchParams.get('from')!) < Date.parse(cut));
    const at = (q: (typeof pages)[number], p: string) => Date.parse(q.url.searchParams.get(p)!);
    const withOldEnd = pages.filter((q) => at(q, 'to') === Date.parse(END)).map((q) => at(q, 'from'));
    const upToCut = pages.filter((q) => at(q, 'to') === Date.parse(cut)).map((q) => at(q, 'from'));
    expect(withOldEnd).toEqual([START, times[9], times[18], times[27]].map((t) => Date.parse(t!)));
    expect(upToCut).toEqual([Date.parse(times[27]!)]);
  });
});
