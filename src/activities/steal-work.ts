import type pg from 'pg';
import type { Cursor } from '../cursor/cursor';
import * as state from '../db/state';
import type { RangeScale } from '../sources/source';
import type { RunInput } from './types';
import { sleep } from '../util/sleep';

/**
 * A range is worth taking part of only when about this many pages are estimated left in it: a take costs its
 * shard the page it was writing and the one it read ahead (they roll back and are read again, see steal-range),
 * and a cut at half the time left can leave most of a burst's records on either side. Measured (the bench's
 * 50 ms API, slices within 8 % of each other): taking at 4 pages left made the run 4 % slower, so only the
 * real imbalances (a business that grew: a last slice holding most records) are worth it.
 */
export const STEAL_MIN_PAGES = 16;

/**
 * Work stealing between the shards of a backfill (sources with a RangeScale: time-sliced HTTP APIs). Their
 * slices are cut by time where the records are, not by count (these APIs give none), so bursts or a business
 * that grew leave one slice fuller than the rest, and the shards that finish first would wait for it. Instead a
 * shard that finished its range takes the later half of the range with the most rows estimated left and reads it
 * as its own, with its checkpoint, until no range has STEAL_MIN_PAGES pages left.
 * Estimate: what is left of a range on the source's scale, times the rows per unit its shard has read so far
 * (the run's, for a range not begun).
 */
export function chooseVictim(slots: state.ShardSlot[], scale: RangeScale, pageSize: number, unknown?: { found: boolean }): state.StealChoice | undefined {
  const covered = (s: state.ShardSlot) => (s.cursor === null || JSON.stringify(s.cursor) === JSON.stringify(s.start) ? 0 : scale.span(s.start, s.cursor));
  let [rows, span] = [0, 0];
  for (const s of slots) [rows, span] = [rows + s.rowsDone, span + covered(s)];
  const runDensity = span > 0 ? rows / span : 0;
  let best: { victim: state.ShardSlot; rows: number } | undefined;
  for (const s of slots) {
    if (s.status !== 'running') continue;
    const seen = covered(s);
    const density = seen > 0 && s.rowsDone > 0 ? s.rowsDone / seen : runDensity;
    if (density === 0 && scale.span(s.cursor, s.until) > 0 && unknown) unknown.found = true; // no rows read anywhere yet
    const left = scale.span(s.cursor, s.until) * density;
    if (left >= STEAL_MIN_PAGES * pageSize && (!best || left > best.rows)) best = { victim: s, rows: left };
  }
  if (!best) return undefined;
  const at = scale.cut(best.victim.cursor, best.victim.until, 0.5);
  return at === undefined ? undefined : { victim: best.victim.index, at };
}

/**
 * For a shard that finished its range (ending at `until`): take the later half of another's (see chooseVictim),
 * or undefined. The shard whose range ends at the high-water mark (until null) does not take: its cursor is
 * where the backfill ends, the sync after it starts there (finishBackfill). Taking that range's end hands that
 * role to the taker.
 */
export async function stealWork(db: pg.Client, scale: RangeScale, input: RunInput, until: Cursor, pageSize: number, beat: () => void): Promise<{ cursor: Cursor; until: Cursor } | undefined> {
  if (input.shard === undefined || until === null) return undefined;
  // A shard that finished before any rows were read elsewhere cannot tell which range is full: it asks again
  // a few times while the others read their first pages.
  for (let attempt = 1; ; attempt++) {
    const unknown = { found: false };
    const took = await state.stealRange(db, input.integration, input.runKey, input.shard, (slots) => chooseVictim(slots, scale, pageSize, unknown));
    if (took || !unknown.found || attempt >= UNKNOWN_TRIES) return took;
    beat();
    await sleep(UNKNOWN_WAIT_MS);
  }
}

const UNKNOWN_TRIES = 20;
const UNKNOWN_WAIT_MS = 250;

/**
 * A shard's page failed its fenced checkpoint: when the slot is still this run's and its range end moved
 * (another shard took part of it), the new end to read to; else undefined (the failure stands).
 */
export async function movedEnd(err: unknown, db: pg.Client, input: RunInput, slot: string, until: Cursor | undefined): Promise<{ until: Cursor } | undefined> {
  if (!(err instanceof state.LostOwnershipError) || input.shard === undefined) return undefined;
  const cp = await state.readCheckpoint(db, input.integration, slot);
  if (!cp || cp.owner !== input.runKey || JSON.stringify(cp.untilCursor) === JSON.stringify(until ?? null)) return undefined;
  return { until: cp.untilCursor };
}
