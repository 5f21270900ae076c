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
 * 50 ms API, slices within 8 % of each other): taking at 4 pages left made the run 4 % slower; real imbalances
 * (a business that grew: one slice holding most records) leave far more.
 */
export const STEAL_MIN_PAGES = 16;

/**
 * Work stealing between the shards of a backfill (sources with a RangeScale: time-sliced HTTP APIs). Their
 * slices are cut by time where the records are, not by count (these APIs give none), so bursts or a business
 * that grew leave one slice fuller than the rest, and the shards that finish first would wait for it. Instead a
 * shard that finished its range takes the later half of the range with the most rows estimated left and reads it
 * as its own, with its checkpoint, while any range has STEAL_MIN_PAGES pages left.
 * Estimate: what is left of a range on the source's scale times the densest rows per unit any shard has read
 * over its range (a range whose records bunch ahead, the case this is for, reads denser the further it goes, and
 * the estimate follows it as shards look again). Not its density lately: records at one instant (a bulk update)
 * read as boundless density, and shards took ever thinner empty ranges from the one reading them (each take
 * costs that one the pages in flight: the bench's run went 5.1 → 6.7 s).
 */
export function chooseVictim(slots: state.ShardSlot[], scale: RangeScale, pageSize: number, ends = new Map<number, Cursor>()): state.StealChoice | undefined {
  // A range from the start (null) began wherever the API's time starts: the span it read says nothing of density.
  const covered = (s: state.ShardSlot) => (s.start === null || s.cursor === null || JSON.stringify(s.cursor) === JSON.stringify(s.start) ? 0 : scale.span(s.start, s.cursor));
  let density = 0;
  for (const s of slots) {
    const seen = covered(s);
    if (seen > 0 && s.rowsDone > 0) density = Math.max(density, s.rowsDone / seen);
  }
  let best: { victim: state.ShardSlot; end: Cursor; rows: number } | undefined;
  for (const s of slots) {
    if (s.status !== 'running') continue;
    // The range to the high-water mark ends, for the estimate, where its records end (null: none left).
    const end = ends.has(s.index) ? (ends.get(s.index) as Cursor) : s.until;
    const width = s.until === null && end === null && ends.has(s.index) ? 0 : scale.span(s.cursor, end);
    if (width <= 0) continue;
    const rows = width * density;
    if (rows >= STEAL_MIN_PAGES * pageSize && (!best || rows > best.rows)) best = { victim: s, end, rows };
  }
  if (!best) return undefined;
  const at = scale.cut(best.victim.cursor, best.end, 0.5);
  return at === undefined ? undefined : { victim: best.victim.index, at };
}

/**
 * How a shard waits for work to take: it looks again this often while other shards still read (one query). The
 * run ends when its last shard returns, so a waiting shard must notice soon that the others are done.
 */
export const STEAL_POLL_MS = 50;

/**
 * For a shard that finished its range (ending at `until`): take the later half of another's (see chooseVictim),
 * looking again every STEAL_POLL_MS while other shards still read (a range fills up the estimate as its shard
 * reads into a burst), until none does or `stop()` says so (cancelled, out of time budget). Undefined: nothing
 * to take. The shard whose range ends at the high-water mark (until null) does not take: its cursor is where the
 * backfill ends, the sync after it starts there (finishBackfill); taking the end of that range hands the role
 * to the taker. That range's end is where the plan stopped, not where its records are: they are found first
 * (a few one-record requests, before the slots are locked; again only once that range changes hands).
 */
export async function stealWork(db: pg.Client, scale: RangeScale, input: RunInput, until: Cursor, pageSize: number, wait: { beat: () => void; stop: () => boolean }): Promise<{ cursor: Cursor; until: Cursor } | undefined> {
  if (input.shard === undefined || until === null) return undefined;
  const self = input.shard;
  const known = new Map<string, Cursor>(); // records' end of the open range, by who holds it from where
  for (;;) {
    const slots = await state.listShardSlots(db, input.integration);
    if (!slots.some((s) => s.index !== self && s.status === 'running') || wait.stop()) return undefined;
    const ends = new Map<number, Cursor>();
    const open = slots.find((s) => s.status === 'running' && s.until === null);
    if (open) {
      const key = `${open.index} ${JSON.stringify(open.start)}`;
      if (!known.has(key)) known.set(key, await scale.recordsEnd(open.cursor, null));
      ends.set(open.index, known.get(key) as Cursor);
    }
    // The slots are locked (briefly holding up the others' commits) only when the look without locks finds a take.
    if (chooseVictim(slots, scale, pageSize, ends)) {
      const took = await state.stealRange(db, input.integration, input.runKey, self, (fresh) => chooseVictim(fresh, scale, pageSize, ends));
      if (took) return took;
    }
    wait.beat();
    await sleep(STEAL_POLL_MS);
  }
}

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
