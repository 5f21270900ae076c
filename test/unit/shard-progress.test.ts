import { describe, expect, it } from 'vitest';
import type { Progress } from '../../src/activities';
import { combineShards, progressLine, withCommittedRows } from '../../src/cli/run-progress';
import { cutAtEqualCounts } from '../../src/sources/postgres/split-range';
import { parseBackfillInput, parseTuneInput } from '../../src/workflows/validate-input';

const shard = (slot: string, rows: number, rate: number, remaining: number): Progress => ({
  integration: 'orders',
  slot,
  cursor: [slot],
  rows,
  pages: rows / 100,
  rate,
  remaining,
  total: rows + remaining,
  attempt: 1,
  updatedAt: '2026-01-01T00:00:00Z',
});

describe('sharded progress and inputs', () => {
  it('one view of a sharded run: running shards summed, finished shards counted, ETA from the summed rate', () => {
    const p = combineShards([shard('backfill/1', 1000, 100, 4000), shard('backfill/2', 3000, 300, 2000)], [
      { index: 0, status: 'done', rows: 5000 },
      { index: 1, status: 'running' },
      { index: 2, status: 'running' },
    ]);
    expect(p).toMatchObject({ slot: 'backfill/*', rows: 9000, rate: 400, remaining: 6000, total: 15000, etaSeconds: 15, cursor: [['backfill/1'], ['backfill/2']] });
    expect(combineShards([], undefined)).toBeUndefined();
  });

  it('the rows running shards committed since their last heartbeats are added, shard by shard (never fewer, the ETA from what is left)', () => {
    const p = combineShards([shard('backfill/1', 1000, 100, 4000), shard('backfill/2', 3000, 300, 2000)], [
      { index: 0, status: 'done', rows: 5000 },
      { index: 1, status: 'running' },
      { index: 2, status: 'running' },
    ])!;
    const running = [
      { slot: 'backfill/1', rows: 1000 },
      { slot: 'backfill/2', rows: 3000 },
    ];
    // Shard 1 committed 1,200 rows since its heartbeat; shard 2's heartbeat is ahead of what the database showed a moment
    // before; shard 0 finished (before this run, in a resume: its slot's rows are not added again).
    const slots = new Map([
      ['backfill/0', 50_000],
      ['backfill/1', 2_200],
      ['backfill/2', 2_900],
    ]);
    expect(withCommittedRows(p, running, slots)).toMatchObject({ rows: 10_200, total: 15_000, remaining: 4_800, etaSeconds: 12, rate: 400 });
    expect(progressLine(withCommittedRows(p, running, slots))).toMatch(/^10,200 \/ 15,000 \(68%\) rows, 400 rows\/s, ETA 12s, /);
    // Nothing committed since the heartbeats (or no database): as they are.
    expect(withCommittedRows(p, running, new Map())).toBe(p);
    expect(withCommittedRows({ ...p, remaining: undefined, total: undefined, etaSeconds: undefined }, running, slots)).toMatchObject({ rows: 10_200, remaining: undefined, etaSeconds: undefined });
  });

  it('boundaries cut sorted keys into parts of equal count, never twice the same, fewer when keys run out', () => {
    const keys = Array.from({ length: 100 }, (_, i) => ['t', String(i)]);
    expect(cutAtEqualCounts(keys, 4)).toEqual([['t', '24'], ['t', '49'], ['t', '74']]);
    expect(cutAtEqualCounts(keys.slice(0, 2), 4)).toEqual([['t', '0']]);
    expect(cutAtEqualCounts([], 4)).toEqual([]);
    expect(cutAtEqualCounts(keys, 1)).toEqual([]);
  });

  it('rate and batchSize inputs are checked; a bad tune signal is reported, not thrown', () => {
    expect(parseBackfillInput({ integration: 'orders', shards: 4, rate: 5000, batchSize: 2000 })).toEqual({ integration: 'orders', shards: 4, rate: 5000, batchSize: 2000 });
    expect(() => parseBackfillInput({ integration: 'orders', rate: -1 })).toThrow(/rate: must be a positive number of rows per second, got -1/);
    expect(() => parseBackfillInput({ integration: 'orders', batchSize: 0 })).toThrow(/batchSize: must be a whole number from 1 to 100000/);
    expect(parseTuneInput({ batchSize: 500 })).toEqual({ batchSize: 500 });
    expect(parseTuneInput({ rowsPerSecond: 10 })).toEqual({ rowsPerSecond: 10 });
    expect(parseTuneInput({ batchSize: 'big' })).toMatch(/invalid tune signal: batchSize: must be a whole number/);
    expect(parseTuneInput({})).toMatch(/give batchSize and\/or rowsPerSecond/);
    expect(parseTuneInput({ speed: 1 })).toMatch(/unknown field\(s\) speed/);
  });
});
