import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { cutOfSample, movedEnd, nothingToTake, rangeToSample, stealWork, STEAL_GRACE_MS, STEAL_MIN_PAGES, stopLooking } from '../../src/activities/steal-work';
import { startPosition } from '../../src/activities/start-position';
import { migrate } from '../../src/db/migrate';
import { createShardSlots, finishCheckpoint, listShardSlots, LostOwnershipError, recordPage, recordPageScript, startRun, stealRange, type ShardSlot } from '../../src/db/state';
import { createHttpSource } from '../../src/sources/http';
import { sortKeyOfNs } from '../../src/sources/http/time-split';
import type { RangeScale } from '../../src/sources/source';
import type { Cursor } from '../../src/cursor/cursor';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { fakeConfig } from '../http/fakes/fake-config';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * Work stealing between shards (issue 13, parallel slices) at the database: the take in one transaction, the
 * page fence that makes a shard whose range shrank roll its page back, and the choice of the range to cut.
 */
let db: TestDatabase;
let client: pg.Client;
const IT = 'steal';
const RUN = 'run-1';
const at = (t: string) => ({ from: `2024-01-01T${t}.000Z` });

beforeAll(async () => {
  db = await createTestDatabase('steal_range');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await migrate(client);
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});
beforeEach(async () => {
  await client.query('TRUNCATE tidemark.checkpoints, tidemark.runs, tidemark.run_shards');
  await startRun(client, RUN, IT, 'backfill', null);
  // Three slices: [start, 01:00), [01:00, 02:00), [02:00, high water).
  await createShardSlots(client, IT, RUN, '2024-01-02T00:00:00.000Z', [
    { from: null, until: at('01:00:00') },
    { from: at('01:00:00'), until: at('02:00:00') },
    { from: at('02:00:00'), until: null },
  ]);
});

const page = (shard: number, cursor: unknown, until: unknown) => ({ integration: IT, slot: `backfill/${shard}`, runId: RUN, shard, cursor, until, rows: 10, written: 10, rejected: 0, read: 10 }) as Parameters<typeof recordPage>[1];
const inTx = async (work: () => Promise<void>) => {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
};

describe('stealRange and the page fence (real PostgreSQL)', () => {
  it('a take moves the victim`s end and gives the thief the rest; the victim`s page read with the old end rolls back, the next one commits', async () => {
    await inTx(() => recordPage(client, page(0, at('00:10:00'), at('01:00:00'))));
    const took = await stealRange(client, IT, RUN, 1, (slots) => {
      expect(slots.map((s) => s.index)).toEqual([0, 1, 2]); // every slot, the thief's own too
      return { victim: 0, at: at('00:30:00') };
    });
    expect(took).toEqual({ cursor: at('00:30:00'), until: at('01:00:00') });
    const slots = await listShardSlots(client, IT);
    expect(slots[0]).toMatchObject({ cursor: at('00:10:00'), start: null, until: at('00:30:00'), status: 'running', rowsDone: 10 });
    expect(slots[1]).toMatchObject({ cursor: at('00:30:00'), start: at('00:30:00'), until: at('01:00:00'), status: 'running' });

    // The victim's page in flight, read up to the old end: its checkpoint is fenced on that end, in both forms.
    const stale = page(0, at('00:40:00'), at('01:00:00'));
    await expect(inTx(() => recordPage(client, stale))).rejects.toBeInstanceOf(LostOwnershipError);
    await expect(client.query(`BEGIN; ${recordPageScript(stale)}; COMMIT`)).rejects.toMatchObject({ code: 'TMOWN' });
    await client.query('ROLLBACK');
    expect((await listShardSlots(client, IT))[0]).toMatchObject({ cursor: at('00:10:00'), rowsDone: 10 }); // nothing of it committed
    // The failure is a moved end (the run still owns the slot): the shard reads on to it.
    expect(await movedEnd(new LostOwnershipError(IT, 'backfill/0', RUN), client, { integration: IT, mode: 'backfill', runKey: RUN, shard: 0 }, 'backfill/0', at('01:00:00'))).toEqual({ until: at('00:30:00') });
    await inTx(() => recordPage(client, page(0, at('00:30:00'), at('00:30:00'))));
    expect((await listShardSlots(client, IT))[0]).toMatchObject({ cursor: at('00:30:00'), rowsDone: 20 });
  });

  it('a page read before a cut still commits when it lies before the new end (the cut`s key); one that reaches it, one without a key or read with another end rolls back', async () => {
    const key = (t: string) => sortKeyOfNs(BigInt(Date.parse(at(t).from)) * 1_000_000n) as string;
    const keyed = (shard: number, t: string, until: unknown) => ({ ...page(shard, at(t), until), cursorKey: key(t) });
    await inTx(() => recordPage(client, page(0, at('00:10:00'), at('01:00:00'))));
    // Slot 0 stands at 00:10 (the floor: its pages in flight lie at or after it).
    await stealRange(client, IT, RUN, 1, () => ({ victim: 0, at: at('00:30:00'), keys: { cut: key('00:30:00'), floor: key('00:10:00') } }));
    // Read with the old end, lying before the new one: the same records whatever end they were read with.
    await inTx(() => recordPage(client, keyed(0, '00:20:00', at('01:00:00'))));
    await client.query(`BEGIN; ${recordPageScript(keyed(0, '00:25:00', at('01:00:00')))}; COMMIT`);
    expect((await listShardSlots(client, IT))[0]).toMatchObject({ cursor: at('00:25:00'), until: at('00:30:00'), rowsDone: 30 });
    // At the new end (records at 00:30 may be in it: the taker's) or past it; before the floor; without a key; read with
    // an end it never had.
    for (const stale of [keyed(0, '00:30:00', at('01:00:00')), keyed(0, '00:40:00', at('01:00:00')), keyed(0, '00:05:00', at('01:00:00')), page(0, at('00:26:00'), at('01:00:00')), keyed(0, '00:26:00', at('00:45:00'))]) {
      await expect(inTx(() => recordPage(client, stale))).rejects.toBeInstanceOf(LostOwnershipError);
      await expect(client.query(`BEGIN; ${recordPageScript(stale)}; COMMIT`)).rejects.toMatchObject({ code: 'TMOWN' });
      await client.query('ROLLBACK');
    }
    expect((await listShardSlots(client, IT))[0]).toMatchObject({ cursor: at('00:25:00'), rowsDone: 30 });
    // A second cut: only pages read with the end of the first one (00:30) pass by key now.
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done' WHERE slot = 'backfill/2'`);
    await stealRange(client, IT, RUN, 2, () => ({ victim: 0, at: at('00:28:00'), keys: { cut: key('00:28:00'), floor: key('00:25:00') } }));
    await expect(inTx(() => recordPage(client, keyed(0, '00:26:00', at('01:00:00'))))).rejects.toBeInstanceOf(LostOwnershipError);
    await inTx(() => recordPage(client, keyed(0, '00:26:00', at('00:30:00'))));
    // The takers' ranges were never cut: only their exact ends count (a key alone passes nothing).
    await inTx(() => recordPage(client, keyed(1, '00:40:00', at('01:00:00'))));
    await inTx(() => recordPage(client, keyed(2, '00:29:00', at('00:30:00'))));
    await expect(inTx(() => recordPage(client, keyed(1, '00:41:00', at('02:00:00'))))).rejects.toBeInstanceOf(LostOwnershipError);
    expect((await listShardSlots(client, IT)).map((s) => [s.cursor, s.until])).toEqual([
      [at('00:26:00'), at('00:28:00')],
      [at('00:40:00'), at('01:00:00')],
      [at('00:29:00'), at('00:30:00')],
    ]);
    // Slot 0 ends its range and takes from slot 1: a late page of the range it had (cut twice) passes nothing now.
    await inTx(() => recordPage(client, keyed(0, '00:28:00', at('00:28:00'))));
    await finishCheckpoint(client, IT, 'backfill/0', RUN);
    await stealRange(client, IT, RUN, 0, () => ({ victim: 1, at: at('00:50:00'), keys: { cut: key('00:50:00'), floor: key('00:40:00') } }));
    await expect(inTx(() => recordPage(client, keyed(0, '00:27:00', at('00:30:00'))))).rejects.toBeInstanceOf(LostOwnershipError);
    expect((await listShardSlots(client, IT))[0]).toMatchObject({ cursor: at('00:50:00'), until: at('01:00:00') });
    // Its new range is cut in turn: the end before that cut is 01:00 again, the end its first range had. A late page of
    // that first range (read with 01:00, before both cuts) lies below where the slot stood at this cut: it passes nothing.
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done' WHERE slot = 'backfill/2'`);
    await stealRange(client, IT, RUN, 2, () => ({ victim: 0, at: at('00:55:00'), keys: { cut: key('00:55:00'), floor: key('00:50:00') } }));
    await expect(inTx(() => recordPage(client, keyed(0, '00:20:00', at('01:00:00'))))).rejects.toBeInstanceOf(LostOwnershipError);
    await inTx(() => recordPage(client, keyed(0, '00:52:00', at('01:00:00')))); // its page in flight does
    expect((await listShardSlots(client, IT))[0]).toMatchObject({ cursor: at('00:52:00'), until: at('00:55:00') });
  });

  it('the range to the high-water mark (end null) keeps its pages in flight by key too', async () => {
    const key = (t: string) => sortKeyOfNs(BigInt(Date.parse(at(t).from)) * 1_000_000n) as string;
    await inTx(() => recordPage(client, page(2, at('02:10:00'), null)));
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done' WHERE slot = 'backfill/0'`);
    await stealRange(client, IT, RUN, 0, () => ({ victim: 2, at: at('05:00:00'), keys: { cut: key('05:00:00'), floor: key('02:10:00') } }));
    await inTx(() => recordPage(client, { ...page(2, at('03:00:00'), null), cursorKey: key('03:00:00') }));
    await expect(inTx(() => recordPage(client, { ...page(2, at('05:00:00'), null), cursorKey: key('05:00:00') }))).rejects.toBeInstanceOf(LostOwnershipError);
    expect((await listShardSlots(client, IT))[2]).toMatchObject({ cursor: at('03:00:00'), until: at('05:00:00') });
  });

  it('the last slot`s end (null) is fenced too; a lost slot is not a moved end; nothing worth taking leaves every slot as it was', async () => {
    await inTx(() => recordPage(client, page(2, at('02:10:00'), null)));
    await stealRange(client, IT, RUN, 0, () => ({ victim: 2, at: at('05:00:00') }));
    await expect(inTx(() => recordPage(client, page(2, at('02:20:00'), null)))).rejects.toBeInstanceOf(LostOwnershipError);
    expect((await listShardSlots(client, IT))[0]).toMatchObject({ start: at('05:00:00'), until: null }); // the taker now reads to the high-water mark

    const before = await listShardSlots(client, IT);
    expect(await stealRange(client, IT, RUN, 1, () => undefined)).toBeUndefined();
    expect(await stealRange(client, IT, RUN, 1, () => ({ victim: 1, at: at('01:30:00') }))).toBeUndefined(); // not from itself
    await client.query(`UPDATE tidemark.checkpoints SET owner = 'run-2' WHERE slot = 'backfill/2'`);
    expect(await stealRange(client, IT, RUN, 1, () => ({ victim: 0, at: at('06:00:00') }))).toBeUndefined(); // a newer run took a slot
    expect(await movedEnd(new LostOwnershipError(IT, 'backfill/2', RUN), client, { integration: IT, mode: 'backfill', runKey: RUN, shard: 2 }, 'backfill/2', null)).toBeUndefined();
    expect((await listShardSlots(client, IT)).map((s) => s.until)).toEqual(before.map((s) => s.until));
  });

  it('the slot reading to the high-water mark keeps where that range ended when it finishes, then takes like any other', async () => {
    await inTx(() => recordPage(client, page(2, at('03:40:00'), null)));
    await inTx(() => recordPage(client, page(1, at('01:10:00'), at('02:00:00'))));
    await finishCheckpoint(client, IT, 'backfill/1', 'other-run'); // not its owner: nothing changes
    await finishCheckpoint(client, IT, 'backfill/2', RUN);
    expect((await listShardSlots(client, IT)).map((s) => [s.status, s.end])).toEqual([
      ['running', undefined],
      ['running', undefined], // a bounded range keeps no end
      ['done', at('03:40:00')],
    ]);
    expect(await stealRange(client, IT, RUN, 2, () => ({ victim: 1, at: at('01:30:00') }))).toEqual({ cursor: at('01:30:00'), until: at('02:00:00') });
    await inTx(() => recordPage(client, page(2, at('02:00:00'), at('02:00:00'))));
    await finishCheckpoint(client, IT, 'backfill/2', RUN); // its taken range done: the end it kept stays
    expect((await listShardSlots(client, IT))[2]).toMatchObject({ start: at('01:30:00'), cursor: at('02:00:00'), until: at('02:00:00'), status: 'done', end: at('03:40:00') });
    await finishCheckpoint(client, IT, 'backfill/1', RUN); // a bounded range finishing keeps no end either
    expect((await listShardSlots(client, IT))[1]).not.toHaveProperty('end');
    // A new backfill's slots start without one.
    await createShardSlots(client, IT, RUN, null, [{ from: null, until: null }]);
    expect((await listShardSlots(client, IT))[0]).not.toHaveProperty('end');
  });

  it('a retried shard ignores a heartbeat of the range it held before its take (it would skip what it took)', async () => {
    const cfg = fakeConfig({ url: 'http://127.0.0.1:9/v1/orders/window', records: 'data', pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more' } }).integrations[0]!.source as HttpSourceConfig;
    const source = await createHttpSource(cfg, (v) => v);
    try {
      // Slot 1 finished [01:00, 02:00) and took [00:30, 01:00) of slot 0: its last heartbeat named 01:59.
      await stealRange(client, IT, RUN, 1, () => ({ victim: 0, at: at('00:30:00') }));
      const input = { integration: IT, mode: 'backfill' as const, runKey: RUN, shard: 1 };
      expect((await startPosition(client, source, input, at('01:59:00'))).cursor).toEqual(at('00:30:00'));
      const inside = await startPosition(client, source, input, at('00:40:00')); // a heartbeat of this range counts
      expect(inside).toMatchObject({ cursor: at('00:40:00'), until: at('01:00:00') });
    } finally {
      await source.close();
    }
  });

  it('two thieves at once queue on the slots` locks: their ranges and the victims` still tile the backfill', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // Each takes the later half of what the widest running range has left, as chooseVictim would.
      const half = (slots: ShardSlot[]) => {
        const s = slots.find((x) => x.index === 2 && x.status === 'running')!;
        const from = Date.parse((s.start as { from: string }).from);
        return { victim: 2, at: { from: new Date(from + (Date.parse('2024-01-02T00:00:00.000Z') - from) / 2).toISOString() } };
      };
      await client.query(`UPDATE tidemark.checkpoints SET status = 'done' WHERE slot IN ('backfill/0', 'backfill/1')`);
      const [a, b] = await Promise.all([stealRange(client, IT, RUN, 0, half), stealRange(other, IT, RUN, 1, half)]);
      expect(a && b).toBeTruthy();
      const slots = await listShardSlots(client, IT);
      const ranges = slots.map((s) => [(s.start as { from: string } | null)?.from ?? '', (s.until as { from: string } | null)?.from ?? 'end']).sort();
      // Slot 2 kept [02:00, T1); one thief [T1, T2), the other [T2, end): no overlap, no gap.
      expect(ranges[0]![0]).toBe(at('02:00:00').from);
      expect(ranges[0]![1]).toBe(ranges[1]![0]);
      expect(ranges[1]![1]).toBe(ranges[2]![0]);
      expect(ranges[2]![1]).toBe('end');
    } finally {
      await other.end();
    }
  });
});

describe('choosing what to take', () => {
  // A scale of plain numbers (cursor {from: n}), so the arithmetic shows.
  const num = (c: unknown, dflt: number) => (c as { from: number } | null)?.from ?? dflt;
  const scale: RangeScale = {
    span: (after, until) => num(until, 1000) - num(after, 0),
    recordsEnd: (_after, until) => Promise.resolve(until),
    sample: () => Promise.reject(new Error('not used')),
    key: (c) => String(num(c, 0)).padStart(8, '0'),
  };
  const slot = (index: number, start: number, cursor: number, until: number | null, rowsDone: number, status: 'running' | 'done' = 'running'): ShardSlot => ({
    index,
    start: { from: start },
    cursor: { from: cursor },
    until: until === null ? null : { from: until },
    rowsDone,
    status,
    owner: RUN,
  });

  it('samples the running range with the most rows estimated left (at the densest rate read), not one not due, none under STEAL_MIN_PAGES', () => {
    // Slot 1 reads 10 rows a unit, slot 2 one: at 10 a unit, slot 2's 690 units left hold the most (6,900).
    const slots = [slot(0, 0, 100, 100, 50, 'done'), slot(1, 100, 150, 300, 500), slot(2, 300, 310, 1000, 10)];
    expect(rangeToSample(slots, scale, 10, new Map(), new Map(), 0)?.slot.index).toBe(2);
    const due = new Map([['2 {"from":1000}', 1000]]);
    expect(rangeToSample(slots, scale, 10, new Map(), due, 500)?.slot.index).toBe(1); // slot 2 waits its turn
    expect(rangeToSample(slots, scale, 10, new Map(), due, 1000)?.slot.index).toBe(2);
    expect(6900).toBeLessThan(STEAL_MIN_PAGES * 1000);
    expect(rangeToSample(slots, scale, 1000, new Map(), new Map(), 0)).toBeUndefined(); // under 8 pages of 1,000 anywhere
    // The range to the high-water mark counts up to where its records end; none left: not a candidate.
    const open = [slot(0, 0, 100, 100, 50, 'done'), slot(1, 100, 150, 300, 500), slot(3, 300, 320, null, 200)];
    expect(rangeToSample(open, scale, 10, new Map([[3, { from: 520 }]]), new Map(), 0)).toMatchObject({ slot: { index: 3 }, end: { from: 520 } });
    expect(rangeToSample(open, scale, 10, new Map([[3, null]]), new Map(), 0)?.slot.index).toBe(1);
    // Its end still being found: not a candidate yet, and the looking goes on.
    expect(rangeToSample(open, scale, 10, new Map(), new Map(), 0, new Set(), new Set([3]))?.slot.index).toBe(1);
    expect(nothingToTake(open.slice(0, 1).concat(open.slice(2)), scale, 10, new Map(), new Set(), new Set([3]))).toBe(false);
    // Nothing read anywhere yet: the widest range.
    expect(rangeToSample([slot(0, 0, 0, 100, 0, 'done'), slot(1, 100, 100, 200, 0), slot(2, 200, 200, 900, 0)], scale, 10, new Map(), new Map(), 0)?.slot.index).toBe(2);
  });

  it('a shard that finished stops looking once no range is worth a sample and each has read enough to show its density', () => {
    // Slot 1 read 500 rows in 50 units (10 a unit): 5 units left = 50 rows, under 8 pages of 10.
    const small = [slot(0, 0, 100, 100, 50, 'done'), slot(1, 100, 150, 155, 500)];
    // It read 8 pages of its own: sampled once whatever the estimate (records packed into a sliver of it), then not.
    expect(nothingToTake(small, scale, 10, new Map())).toBe(false);
    expect(rangeToSample(small, scale, 10, new Map(), new Map(), 0)?.slot.index).toBe(1);
    expect(nothingToTake(small, scale, 10, new Map(), new Set(['1 {"from":155}']))).toBe(true);
    expect(nothingToTake([slot(0, 0, 100, 100, 50, 'done'), slot(1, 100, 150, 160, 500)], scale, 10, new Map())).toBe(false); // 100 rows left: worth one
    // Under 8 pages read of its own (the first page of a range that starts on empty time): its density may be far higher.
    expect(nothingToTake([slot(0, 0, 100, 100, 50, 'done'), slot(1, 100, 150, 155, 70)], scale, 10, new Map())).toBe(false);
    // A range from the start (null) says nothing of its density; a range not due for a sample yet still counts.
    expect(nothingToTake([{ ...slot(1, 0, 150, 155, 500), start: null }, slot(0, 0, 100, 100, 50, 'done')], scale, 10, new Map())).toBe(false);
    expect(rangeToSample([slot(1, 100, 150, 160, 500)], scale, 10, new Map(), new Map([['1 {"from":160}', 1000]]), 0)).toBeUndefined();
    expect(nothingToTake([slot(1, 100, 150, 160, 500)], scale, 10, new Map())).toBe(false);
  });

  it('cuts where the sample`s records halve, only when it found STEAL_MIN_PAGES pages; a burst counts one page', () => {
    const bounds = [0, 10, 20, 30, 40].map((from) => ({ from }));
    expect(cutOfSample({ bounds, counts: [10, 10, 10, 10] }, 5)).toEqual({ from: 20 }); // 40 rows = 8 pages of 5
    expect(cutOfSample({ bounds, counts: [0, 2, 10, 30] }, 5)).toEqual({ from: 40 - 10 }); // records bunch at the end
    expect(cutOfSample({ bounds, counts: [10, 10, 10, 9] }, 5)).toBeUndefined(); // 39 < 8 × 5
    // Each span counts at most a page (the request's limit): a burst of 300 at one instant is one page of 10.
    expect(STEAL_MIN_PAGES * 10).toBeGreaterThan(10 + 3);
    expect(cutOfSample({ bounds, counts: [10, 1, 1, 1] }, 10)).toBeUndefined();
  });

  it('stealWork: takes where a full sample halves; a sampling request that fails ends the looking, not the shard', async () => {
    await client.query('TRUNCATE tidemark.checkpoints');
    await createShardSlots(client, IT, RUN, 'x', [
      { from: null, until: { from: 100 } },
      { from: { from: 100 }, until: { from: 1000 } },
    ]);
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done', cursor = '{"from": 100}', rows_done = 100 WHERE slot = 'backfill/0'`);
    await client.query(`UPDATE tidemark.checkpoints SET cursor = '{"from": 200}', rows_done = 100 WHERE slot = 'backfill/1'`);
    const input = { integration: IT, mode: 'backfill' as const, runKey: RUN, shard: 0 };
    const wait = { beat: () => undefined, stop: () => false };
    const read = { pageSize: 10, rated: false };
    // The sample: 16 spans of 50 from where slot 1 stands (200) to its end.
    const spans = (counts: number[]) => ({ bounds: Array.from({ length: 17 }, (_, i) => ({ from: 200 + 50 * i })), counts });
    const failing: RangeScale = { ...scale, sample: () => Promise.reject(new Error('503 from the API')) };
    const env = new MockActivityEnvironment();
    expect(await env.run(() => stealWork(client, failing, input, read, wait))).toBeUndefined();
    expect((await listShardSlots(client, IT)).map((s) => s.until)).toEqual([{ from: 100 }, { from: 1000 }]); // nothing moved
    // 8 full spans from 600 on: 80 rows = 8 pages, halved at 800.
    const full: RangeScale = { ...scale, sample: () => Promise.resolve(spans([0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 10, 10])) };
    expect(await env.run(() => stealWork(client, full, input, read, wait))).toEqual({ cursor: { from: 800 }, until: { from: 1000 } });
    expect((await listShardSlots(client, IT)).map((s) => [s.start, s.cursor, s.until, s.status])).toEqual([
      [{ from: 800 }, { from: 800 }, { from: 1000 }, 'running'],
      [{ from: 100 }, { from: 200 }, { from: 800 }, 'running'],
    ]);
    // Slot 0 done again; slot 1 has 10 units left at 1.4 rows a unit: not worth a sample by the estimate, but it
    // read 8 pages of its own, so one sample (records may be packed into those units); it finds nothing, and slot 0
    // stops after one poll while slot 1 still reads (the run ends with slot 1, not polls after it).
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done', cursor = '{"from": 1000}' WHERE slot = 'backfill/0'`);
    await client.query(`UPDATE tidemark.checkpoints SET cursor = '{"from": 790}', rows_done = 1000 WHERE slot = 'backfill/1'`);
    let sampled = 0;
    let beats = 0;
    const counting: RangeScale = { ...scale, sample: () => (sampled++, Promise.resolve(spans([]))) };
    expect(await env.run(() => stealWork(client, counting, input, read, { beat: () => beats++, stop: () => false }))).toBeUndefined();
    expect([sampled, beats]).toEqual([1, 1]);
  });

  it('stealWork: the shard that read to the high-water mark takes too, and keeps where that range ended', async () => {
    await client.query('TRUNCATE tidemark.checkpoints');
    await createShardSlots(client, IT, RUN, 'x', [
      { from: null, until: { from: 900 } },
      { from: { from: 900 }, until: null },
    ]);
    await client.query(`UPDATE tidemark.checkpoints SET cursor = '{"from": 100}', rows_done = 100 WHERE slot = 'backfill/0'`);
    await client.query(`UPDATE tidemark.checkpoints SET cursor = '{"from": 1100}', rows_done = 40 WHERE slot = 'backfill/1'`);
    await finishCheckpoint(client, IT, 'backfill/1', RUN);
    // 16 spans of 50 from where slot 0 stands (100) to its end (900), the later half full: 80 rows = 8 pages, halved at 700.
    const full: RangeScale = { ...scale, sample: () => Promise.resolve({ bounds: Array.from({ length: 17 }, (_, i) => ({ from: 100 + 50 * i })), counts: [0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 10, 10] }) };
    const env = new MockActivityEnvironment();
    const input = { integration: IT, mode: 'backfill' as const, runKey: RUN, shard: 1 };
    const giveUp = Date.now() + 10_000;
    expect(await env.run(() => stealWork(client, full, input, { pageSize: 10, rated: false }, { beat: () => undefined, stop: () => Date.now() > giveUp }))).toEqual({ cursor: { from: 700 }, until: { from: 900 } });
    expect((await listShardSlots(client, IT)).map((s) => [s.cursor, s.until, s.status, s.end])).toEqual([
      [{ from: 100 }, { from: 700 }, 'running', undefined],
      [{ from: 700 }, { from: 900 }, 'running', { from: 1100 }],
    ]);
  });

  it('stealWork: the end of the range to the high-water mark is found meanwhile, not waited on; shards that look at once share one sample', async () => {
    // A run of its own: where a run's last range ends is found once per run and process (an earlier test's is known).
    const slowRun = `${RUN}-slow-end`;
    await client.query('TRUNCATE tidemark.checkpoints');
    await createShardSlots(client, IT, slowRun, 'x', [
      { from: null, until: { from: 100 } },
      { from: { from: 100 }, until: { from: 1000 } },
      { from: { from: 1000 }, until: null },
    ]);
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done', cursor = '{"from": 100}', rows_done = 100 WHERE slot = 'backfill/0'`);
    await client.query(`UPDATE tidemark.checkpoints SET cursor = '{"from": 200}', rows_done = 100 WHERE slot = 'backfill/1'`);
    await client.query(`UPDATE tidemark.checkpoints SET cursor = '{"from": 1010}', rows_done = 100 WHERE slot = 'backfill/2'`);
    const spans = { bounds: Array.from({ length: 17 }, (_, i) => ({ from: 200 + 50 * i })), counts: [0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 10, 10] };
    // The probes for where slot 2's records end never answer: slot 1's range is still taken.
    let slowSignal: AbortSignal | undefined;
    const slowEnd: RangeScale = { ...scale, recordsEnd: (_a, _u, s) => ((slowSignal = s), new Promise<never>(() => undefined)), sample: () => Promise.resolve(spans) };
    const env = new MockActivityEnvironment();
    const input = { integration: IT, mode: 'backfill' as const, runKey: slowRun, shard: 0 };
    const giveUp = Date.now() + 5_000;
    const taker = {};
    expect(await env.run(() => stealWork(client, slowEnd, input, { pageSize: 10, rated: false }, { beat: () => undefined, stop: () => Date.now() > giveUp }, taker))).toEqual({ cursor: { from: 800 }, until: { from: 1000 } });
    expect(Date.now()).toBeLessThan(giveUp);
    expect(slowSignal?.aborted).toBe(false); // it took a range: it looks again when it has read it
    // Its run ends another way (a time budget, a failure): the run stops its looking, and with it the probes.
    stopLooking(input, taker);
    expect(slowSignal?.aborted).toBe(true);

    // Probes that no shard waits for stop (the review: they went on after the shard returned): not when a shard
    // took a range (it looks again), but when the last shard of the process stops looking for good.
    let signal: AbortSignal | undefined;
    const endRun = `${RUN}-end-stops`;
    await client.query('TRUNCATE tidemark.checkpoints');
    await createShardSlots(client, IT, endRun, 'x', [
      { from: null, until: { from: 100 } },
      { from: { from: 100 }, until: null },
    ]);
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done', cursor = '{"from": 100}', rows_done = 100 WHERE slot = 'backfill/0'`);
    const hangingEnd: RangeScale = { ...scale, recordsEnd: (_a, _u, s) => ((signal = s), new Promise<never>(() => undefined)), sample: () => Promise.resolve(spans) };
    const lookEnd = (shard: number, stopAt: number, db = client) => new MockActivityEnvironment().run(() => stealWork(db, hangingEnd, { integration: IT, mode: 'backfill' as const, runKey: endRun, shard }, { pageSize: 10, rated: false }, { beat: () => undefined, stop: () => Date.now() > stopAt }, {}));
    // Two attempts wait for the probes (here one shard index twice, as a retry beside the attempt it replaces): the
    // first to stop leaves them running for the other; the last one stops them.
    const second = new pg.Client({ connectionString: db.url });
    await second.connect();
    try {
      const later = lookEnd(0, Date.now() + 900, second);
      expect(await lookEnd(0, Date.now() + 300)).toBeUndefined();
      expect(signal?.aborted).toBe(false);
      expect(await later).toBeUndefined();
      expect(signal?.aborted).toBe(true);
    } finally {
      await second.end();
    }

    // Two shards done at once look at slot 1's range: one sample between them (its requests are the API's), and neither
    // takes (the sample found too little), so both end.
    await client.query('TRUNCATE tidemark.checkpoints');
    await createShardSlots(client, IT, RUN, 'x', [
      { from: null, until: { from: 100 } },
      { from: { from: 100 }, until: { from: 1000 } },
      { from: { from: 1000 }, until: { from: 2000 } },
    ]);
    // Slot 1: 10 units left at 1.1 rows a unit, not worth a sample by the estimate, but sampled once (it read 8 pages).
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done', rows_done = 100 WHERE slot IN ('backfill/0', 'backfill/2')`);
    await client.query(`UPDATE tidemark.checkpoints SET cursor = '{"from": 990}', rows_done = 1000 WHERE slot = 'backfill/1'`);
    let sampled = 0;
    const slowSample: RangeScale = { ...scale, sample: () => (sampled++, new Promise((r) => setTimeout(() => r({ bounds: spans.bounds, counts: spans.counts.map(() => 1) }), 200))) };
    const look = (shard: number) => new MockActivityEnvironment().run(() => stealWork(client, slowSample, { integration: IT, mode: 'backfill' as const, runKey: RUN, shard }, { pageSize: 10, rated: false }, { beat: () => undefined, stop: () => Date.now() > giveUp + 5_000 }));
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      const lookOther = new MockActivityEnvironment().run(() => stealWork(other, slowSample, { integration: IT, mode: 'backfill' as const, runKey: RUN, shard: 2 }, { pageSize: 10, rated: false }, { beat: () => undefined, stop: () => Date.now() > giveUp + 5_000 }));
      expect(await Promise.all([look(0), lookOther])).toEqual([undefined, undefined]);
    } finally {
      await other.end();
    }
    expect(sampled).toBe(1);
  });

  it('stealWork: past STEAL_GRACE_MS only one shard of a run goes on waiting; the others end and give their worker slots back', async () => {
    // An acceptance run: a time-boxed sharded backfill's empty shards held worker slots for whole time boxes while other
    // tenants' runs queued. Here three shards are done, and the last range's records end is still being found.
    const run = `${RUN}-grace`;
    await client.query('TRUNCATE tidemark.checkpoints');
    await createShardSlots(client, IT, run, 'x', [
      { from: null, until: { from: 100 } },
      { from: { from: 100 }, until: { from: 200 } },
      { from: { from: 200 }, until: { from: 300 } },
      { from: { from: 300 }, until: null },
    ]);
    await client.query(`UPDATE tidemark.checkpoints SET status = 'done', rows_done = 100 WHERE slot IN ('backfill/0', 'backfill/1', 'backfill/2')`);
    const endless: RangeScale = { ...scale, recordsEnd: () => new Promise<never>(() => undefined), sample: () => Promise.reject(new Error('not sampled')) };
    const sessions = await Promise.all([0, 1, 2].map(async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    }));
    try {
      const t0 = Date.now();
      const stopAt = t0 + STEAL_GRACE_MS + 2_500;
      const ended: number[] = [];
      const looks = sessions.map((c, shard) =>
        new MockActivityEnvironment()
          .run(() => stealWork(c, endless, { integration: IT, mode: 'backfill' as const, runKey: run, shard }, { pageSize: 10, rated: false }, { beat: () => undefined, stop: () => Date.now() > stopAt }, {}))
          .then((r) => (ended.push(Date.now() - t0), r)),
      );
      expect(await Promise.all(looks)).toEqual([undefined, undefined, undefined]);
      ended.sort((a, b) => a - b);
      // Two end just after the grace, one waits on to its stop.
      expect(ended[0]).toBeGreaterThanOrEqual(STEAL_GRACE_MS);
      expect(ended[1]).toBeLessThan(STEAL_GRACE_MS + 1_000);
      expect(ended[2]).toBeGreaterThanOrEqual(STEAL_GRACE_MS + 2_500);
      // The waiter let go when it ended: the next shard to finish may wait (asked from a session of its own: the
      // lock is re-entrant within one).
      const next = new pg.Client({ connectionString: db.url });
      await next.connect();
      try {
        const free = await next.query(`SELECT pg_try_advisory_lock(hashtext('tidemark.steal-waiter'), hashtext($1::text)) AS got`, [`${IT} ${run}`]);
        expect(free.rows[0].got).toBe(true);
      } finally {
        await next.end();
      }
    } finally {
      await Promise.all(sessions.map((c) => c.end()));
    }
  }, 20_000);

  it('the http source`s scale: time between where a read stands and the end', async () => {
    const cfg = fakeConfig({ url: 'http://127.0.0.1:9/v1/orders/window', records: 'data', pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more' } }).integrations[0]!.source as HttpSourceConfig;
    const source = await createHttpSource(cfg, (v) => v);
    try {
      await source.prepare({ highWater: '2024-01-01T04:00:00.000Z' });
      const s = source.rangeScale!;
      expect(s.span(at('01:00:00'), at('02:00:00'))).toBe(3_600_000);
      expect(s.span(at('03:00:00'), null)).toBe(3_600_000); // null: up to the high-water mark
      // Keys sort byte by byte as the positions do, whatever digits or zone the time was written with.
      const positions: Cursor[] = [
        { from: '1969-12-31T23:59:59.999999999Z' },
        { from: '2024-01-01T01:00:00Z' },
        { from: '2024-01-01T01:00:00.000000001Z' },
        { from: '2024-01-01T02:30:00.5+01:00' }, // 01:30:00.5Z
        { from: '2024-01-01T01:00:00.000Z', to: '2024-01-01T01:45:00.000Z', inner: null }, // a slice in progress: read to its end
        { from: '2024-01-01T02:00:00.000Z' },
      ];
      const keys = positions.map((c) => s.key(c) as string);
      expect(new Set(keys.map((k) => k.length))).toEqual(new Set([22]));
      expect([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))).toEqual(keys);
      expect(new Set(keys).size).toBe(keys.length);
      expect(s.key({ from: '2024-01-01T01:00:00Z' })).toBe(s.key({ from: '2024-01-01T01:00:00.000000000Z' }));
      expect(s.key({ from: 'not a time' })).toBeUndefined();
      // Stopped (no shard waits for it): no request goes out (this API's port refuses connections: one would fail otherwise).
      await expect(s.recordsEnd(at('03:00:00'), null, AbortSignal.abort(new Error('stopped')))).rejects.toThrow('stopped');
    } finally {
      await source.close();
    }
  });
});
