import { log } from '@temporalio/activity';
import type pg from 'pg';
import type { Cursor } from '../cursor/cursor';
import * as state from '../db/state';
import type { RangeScale } from '../sources/source';
import type { RunInput } from './types';
import { sleep } from '../util/sleep';
import { errorMessage } from './failures';

/**
 * A range is worth taking part of only when at least this many pages are known to be left in it: a take costs
 * the taker a sample (a round of requests) and its shard the page that crosses the cut (read again up to it; the
 * pages before the cut still commit when the source keys its cursors, see record-page). Known, not estimated: see
 * cutOfSample. A threshold of 4 or 3 pages, with samples of one or four pages a span, measured slower on the
 * bench's bursts (a tail of two bursts at single instants cannot be cut finer than them).
 */
export const STEAL_MIN_PAGES = 8;
/** Spans a range left is sampled in (one request each, at once; fewer with a requestsPerSecond budget). */
export const SAMPLE_PARTS = { free: 16, rated: 8 };
/**
 * A range is sampled again by one shard at the earliest this long after its first sample, twice as long after
 * each further one that found too little: the samples are requests to the API, and with a requestsPerSecond
 * budget they spend what the reading shards share.
 */
export const SAMPLE_EVERY_MS = { free: 1_000, rated: 5_000 };
/**
 * How a shard waits for work to take: it looks again this often while other shards still read (one query). The
 * run ends when its last shard returns, so a waiting shard must notice soon that the others are done.
 */
export const STEAL_POLL_MS = 50;
/**
 * How long every shard that finished its range may look for one to take. After that only one shard of the run goes on
 * waiting (tryStealWaiter), the others end: each waiting shard holds a worker's activity slot, and an acceptance run
 * (a sharded backfill of one tenant beside ~30 others, time-boxed) saw its empty shards hold slots for whole time
 * boxes while the other tenants' runs queued (their p95 from 0.4 to 61-66 s). Takes come within this time when there
 * is something to take (the bench's steals: the first within a second).
 */
export const STEAL_GRACE_MS = 5_000;

/**
 * Which range to sample for a take: the running one with the most rows estimated left (what is left of it on the
 * source's scale times the densest rows per unit any shard has read), if that is STEAL_MIN_PAGES pages or more,
 * and not one whose next sample is not due yet (`due`, by slot and end). The estimate only says what is worth a
 * sample: time spans say little of counts (records at one instant, a business that grew), so the take rests on
 * the sample.
 */
export function rangeToSample(
  slots: state.ShardSlot[],
  scale: RangeScale,
  pageSize: number,
  ends: Map<number, Cursor>,
  due: Map<string, number>,
  now: number,
  /** Ranges (sampleKey) sampled once already. */
  sampled: ReadonlySet<string> = new Set(),
  /** Slots whose records' end is still being found (the range to the high-water mark): not sampled yet. */
  pending: ReadonlySet<number> = new Set(),
): { slot: state.ShardSlot; end: Cursor } | undefined {
  let density = 0;
  for (const s of slots) {
    const seen = covered(scale, s);
    if (seen > 0 && s.rowsDone > 0) density = Math.max(density, s.rowsDone / seen);
  }
  let best: { slot: state.ShardSlot; end: Cursor; rows: number } | undefined;
  for (const s of slots) {
    if (s.status !== 'running' || pending.has(s.index)) continue;
    // The range to the high-water mark ends, for this, where its records end (null: none left).
    const end = ends.has(s.index) ? (ends.get(s.index) as Cursor) : s.until;
    const width = s.until === null && end === null && ends.has(s.index) ? 0 : scale.span(s.cursor, end);
    if (width <= 0 || now < (due.get(sampleKey(s)) ?? 0)) continue;
    const rows = density > 0 ? width * density : Infinity; // nothing read anywhere yet: the widest
    // A range that read STEAL_MIN_PAGES pages itself is sampled once whatever the estimate: the densest rate read
    // averages over empty time (records packed into a sliver of the range), and would never call it worth one.
    const shown = s.rowsDone >= STEAL_MIN_PAGES * pageSize && !sampled.has(sampleKey(s));
    if ((rows >= STEAL_MIN_PAGES * pageSize || shown) && (!best || rows > best.rows || (rows === best.rows && width > scale.span(best.slot.cursor, best.end)))) best = { slot: s, end, rows };
  }
  return best && { slot: best.slot, end: best.end };
}

/** How much of the scale a slot's range has read. A range from the start (null) began wherever the API's time starts: the span it read says nothing of density. */
function covered(scale: RangeScale, s: state.ShardSlot): number {
  return s.start === null || s.cursor === null || JSON.stringify(s.cursor) === JSON.stringify(s.start) ? 0 : scale.span(s.start, s.cursor);
}

/**
 * Whether a shard that finished can stop looking (the run ends with its last shard, not STEAL_POLL_MS after it):
 * no running range is worth a sample even when due, and each has read STEAL_MIN_PAGES pages of its own, so its
 * density shows in the estimate. Before that the estimate may rest on emptier ranges (a business that grew: the
 * full range's first page covers the empty time before its records), and ranges only shrink.
 */
export function nothingToTake(slots: state.ShardSlot[], scale: RangeScale, pageSize: number, ends: Map<number, Cursor>, sampled: ReadonlySet<string> = new Set(), pending: ReadonlySet<number> = new Set()): boolean {
  const settled = slots.every((s) => s.status !== 'running' || (!pending.has(s.index) && s.rowsDone >= STEAL_MIN_PAGES * pageSize && covered(scale, s) > 0));
  return settled && !rangeToSample(slots, scale, pageSize, ends, new Map(), 0, sampled);
}

const sampleKey = (s: state.ShardSlot) => `${s.index} ${JSON.stringify(s.until)}`;

/**
 * Where to cut a sampled range: the bound at which half the records the sample found lie before it, when the
 * sample found at least STEAL_MIN_PAGES pages (each span counts up to a page, so one instant's burst counts one
 * page, not its size); else undefined. `bounds` has one more entry than `counts`.
 */
export function cutOfSample(sample: { bounds: Cursor[]; counts: number[] }, pageSize: number): Cursor | undefined {
  const total = sample.counts.reduce((a, b) => a + b, 0);
  if (total < STEAL_MIN_PAGES * pageSize || sample.counts.length < 2) return undefined;
  let sum = 0;
  for (let k = 0; k < sample.counts.length - 1; k++) {
    sum += sample.counts[k] as number;
    if (sum >= total / 2) return sample.bounds[k + 1];
  }
  return sample.bounds[sample.counts.length - 1];
}

/**
 * Work stealing between the shards of a backfill (sources with a RangeScale: time-sliced HTTP APIs). Their
 * slices are cut by time where the records are, not by count (these APIs give none), so bursts or a business
 * that grew leave one slice fuller than the rest, and the shards that finish first would wait for it. Instead a
 * shard that finished its range keeps looking, every STEAL_POLL_MS while other shards still
 * read, for a range with at least STEAL_MIN_PAGES pages left — sampled with one request per span (RangeScale.sample,
 * outside any lock) — and takes its later half, cut where the sample's records halve, to read as its own with its
 * checkpoint (steal-range.ts: one transaction, every slot locked, only if that range has not moved since).
 * Undefined: nothing left to take, or `stop()` (cancelled, out of time budget).
 * The shard whose range ends at the high-water mark (until null) takes too: where that range ended is kept on its
 * slot when it finishes (end_cursor), for the sync after the backfill (finishBackfill); taking the end of that
 * range while it is read hands the role to the taker. That range's end is where the plan stopped, not where its
 * records are: they are found first (one-record requests, once per run and worker process).
 */
export async function stealWork(
  db: pg.Client,
  scale: RangeScale,
  input: RunInput,
  read: { pageSize: number; rated: boolean },
  wait: { beat: () => void; stop: () => boolean },
  /** This attempt of the shard (one object per attempt): what waits for the probes below; see stopLooking. */
  looker: object = {},
): Promise<{ cursor: Cursor; until: Cursor } | undefined> {
  if (input.shard === undefined) return undefined;
  const self = input.shard;
  const due = new Map<string, number>(); // when each range (slot and end) may be sampled again
  const samples = new Map<string, number>();
  // Where the records of the range to the high-water mark end: found in the background (rounds of probes), so
  // the other ranges are sampled meanwhile and a range that ends first is not waited on (seen in the bench: the
  // first shard done spent 0.2 s finding it while the last slice ended, and ended after it).
  let openEnd: { state: 'pending' | 'failed' } | { state: 'known'; at: Cursor } | undefined;
  let took: { cursor: Cursor; until: Cursor } | undefined;
  const began = Date.now();
  let waiter = false;
  try {
    return (took = await look());
  } finally {
    // A shard that took a range looks again when it has read it (its run calls stopLooking however it ends); one
    // that stops looking for good, and is the last of this process waiting, stops the probes (the review: they
    // went on after it returned).
    if (!took) stopLooking(input, looker);
    // Taking or done: another shard that finishes may be the one to wait.
    if (waiter) await state.releaseStealWaiter(db, input.integration, input.runKey).catch(() => undefined);
  }

  async function look(): Promise<{ cursor: Cursor; until: Cursor } | undefined> {
    for (;;) {
      const slots = await state.listShardSlots(db, input.integration);
      if (!slots.some((s) => s.index !== self && s.status === 'running') || wait.stop()) return undefined;
      const ends = new Map<number, Cursor>();
      const pending = new Set<number>();
      const open = slots.find((s) => s.status === 'running' && s.until === null);
      if (open) {
        if (!openEnd) {
          const found: { state: 'pending' } = { state: 'pending' };
          openEnd = found;
          const end = recordsEndOf(runOf(input), looker, (signal) => scale.recordsEnd(open.cursor, null, signal));
          void asked(() => end).then((at) => {
            openEnd = at === undefined ? { state: 'failed' } : { state: 'known', at };
          });
        }
        if (openEnd.state === 'failed') return undefined;
        if (openEnd.state === 'known') ends.set(open.index, openEnd.at);
        else pending.add(open.index);
      }
      const sampled = new Set(samples.keys());
      const pick = rangeToSample(slots, scale, read.pageSize, ends, due, Date.now(), sampled, pending);
      if (!pick && nothingToTake(slots, scale, read.pageSize, ends, sampled, pending)) return undefined;
      if (pick) {
        const k = sampleKey(pick.slot);
        const n = (samples.get(k) ?? 0) + 1;
        samples.set(k, n);
        due.set(k, Date.now() + (read.rated ? SAMPLE_EVERY_MS.rated : SAMPLE_EVERY_MS.free) * 2 ** (n - 1));
        const sample = await sampleOf(`${input.integration} ${input.runKey} ${k}`, () => asked(() => scale.sample(pick.slot.cursor, pick.end, read.rated ? SAMPLE_PARTS.rated : SAMPLE_PARTS.free, read.pageSize)));
        if (sample === undefined) return undefined;
        const at = cutOfSample(sample, read.pageSize);
        const victim = pick.slot;
        // Under the lock: the same range, its end unmoved and the cut still ahead of where it stands.
        const took = at && (await state.stealRange(db, input.integration, input.runKey, self, (fresh) => {
          const now = fresh.find((s) => s.index === victim.index && s.status === 'running' && JSON.stringify(s.until) === JSON.stringify(victim.until));
          if (!now || scale.span(now.cursor, at) <= 0) return undefined;
          // Its pages in flight, read with the old end, lie between where it stands and the cut (see record-page).
          const [cut, floor] = [scale.key(at), scale.key(now.cursor)];
          return { victim: victim.index, at, ...(cut !== undefined && floor !== undefined ? { keys: { cut, floor } } : {}) };
        }));
        if (took) return took;
      }
      if (!waiter && Date.now() - began >= STEAL_GRACE_MS) {
        // Past the first look: one waiter a run, the others give their slots back.
        if (!(await state.tryStealWaiter(db, input.integration, input.runKey))) return undefined;
        waiter = true;
      }
      wait.beat();
      await sleep(STEAL_POLL_MS);
    }
  }
}

/**
 * Where the records of a run's range to the high-water mark end: found once per run and worker process (the
 * probes cost tens of requests), whoever holds that range later (its records end where they ended).
 */
interface RecordsEnd {
  found: Promise<Cursor>;
  /** The shard attempts of this process waiting for it: when the last one stops looking, the probes stop too. */
  waiting: Set<object>;
  settled: boolean;
  stop: AbortController;
}
const endsByRun = new Map<string, RecordsEnd>();
const runOf = (input: RunInput) => `${input.integration} ${input.runKey}`;
function recordsEndOf(run: string, looker: object, find: (signal: AbortSignal) => Promise<Cursor>): Promise<Cursor> {
  let end = endsByRun.get(run);
  if (!end) {
    const stop = new AbortController();
    const entry: RecordsEnd = { found: find(stop.signal), waiting: new Set(), settled: false, stop };
    end = entry;
    endsByRun.set(run, entry);
    entry.found.then(
      () => (entry.settled = true),
      () => {
        entry.settled = true;
        if (endsByRun.get(run) === entry) endsByRun.delete(run);
      },
    );
    if (endsByRun.size > 64) {
      const [oldest, evicted] = endsByRun.entries().next().value as [string, RecordsEnd];
      endsByRun.delete(oldest);
      if (!evicted.settled) evicted.stop.abort(new Error(STOPPED));
    }
  }
  end.waiting.add(looker);
  return end.found;
}

/**
 * A shard attempt stopped looking for work for good (no range worth taking, or its run ended however it did): the
 * last attempt of this process to stop ends the probes still running.
 */
export function stopLooking(input: RunInput, looker: object): void {
  const run = runOf(input);
  const end = endsByRun.get(run);
  if (!end?.waiting.delete(looker)) return;
  if (end.waiting.size === 0 && !end.settled) {
    end.stop.abort(new Error(STOPPED));
    endsByRun.delete(run); // a shard that looks later asks afresh
  }
}

/**
 * The samples being taken in this worker process, by run and range: shards that finish together share one (the
 * bench: three took the same 30 requests at once, beside the pages of the slice still reading). Kept only while
 * in flight; a later look samples afresh.
 */
const samplesInFlight = new Map<string, Promise<Sample | undefined>>();
type Sample = Awaited<ReturnType<RangeScale['sample']>>;
function sampleOf(key: string, take: () => Promise<Sample | undefined>): Promise<Sample | undefined> {
  let sample = samplesInFlight.get(key);
  if (!sample) {
    sample = take();
    samplesInFlight.set(key, sample);
    void sample.finally(() => samplesInFlight.delete(key));
  }
  return sample;
}

/**
 * A request of the sampling: a failure (the API down, a refused credential) ends the looking, not the shard,
 * whose own range is done and committed; the others still read theirs. Undefined: it failed (logged).
 */
async function asked<T>(request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch (err) {
    // Probes stopped because no shard waits for them any more: nothing failed.
    if (!isStopped(err)) log.warn('work stealing stopped: a sampling request failed; this shard is done, the others read on', { error: errorMessage(err) });
    return undefined;
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

const STOPPED = 'no shard waits for where the last range ends';
function isStopped(err: unknown): boolean {
  return err instanceof Error && err.message === STOPPED;
}
