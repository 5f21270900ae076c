import { changeOrder, newOrder, type Order } from './order-factory';
import { intBetween, seededRng, type Rng } from './rng';

interface Entry {
  order: Order;
  /** updated_at in ms, for ordering and filters */
  t: number;
}

export interface Mutation {
  updated: number[];
  inserted: number[];
  /** the updated_at every changed record now has */
  at: string;
}

/** Where the initial data sits in time: far enough in the past that any lag has passed. */
const BASE_MS = Date.UTC(2024, 0, 1);

/**
 * The mock API's orders: generated from a seed (same seed, same data), with many records sharing one
 * `updated_at` (groups of up to a few hundred), and changing on request: `mutate(n)` updates or adds n
 * orders, all stamped with one `updated_at` (a bulk update: the hardest case for pagination).
 */
export class OrdersDataset {
  private readonly rng: Rng;
  private readonly byId = new Map<number, Entry>();
  private sortedByTime: Entry[] | undefined;
  private sortedById: Entry[] | undefined;
  private maxId = 0;

  constructor(records: number, seed: number) {
    this.rng = seededRng(seed);
    const times: number[] = [];
    for (let second = 0; times.length < records; second++) {
      const r = this.rng();
      const size = r < 0.85 ? intBetween(this.rng, 1, 4) : r < 0.97 ? intBetween(this.rng, 5, 40) : intBetween(this.rng, 120, 400);
      const ms = BASE_MS + second * 1000 + (this.rng() < 0.3 ? intBetween(this.rng, 1, 999) : 0);
      for (let i = 0; i < size && times.length < records; i++) times.push(ms);
    }
    // Ids in creation order, update times shuffled over them: id order and time order differ.
    for (let i = times.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [times[i], times[j]] = [times[j] as number, times[i] as number];
    }
    times.forEach((t, i) => this.put(newOrder(this.rng, i + 1, BASE_MS - (times.length - i) * 60_000, t), t));
  }

  get size(): number {
    return this.byId.size;
  }

  private put(order: Order, t: number): void {
    this.byId.set(order.id, { order, t });
    this.maxId = Math.max(this.maxId, order.id);
    this.sortedByTime = undefined;
    this.sortedById = undefined;
  }

  /** Changes n orders: about 4 in 5 updates of existing ones, 1 in 5 new ones; all get `updated_at = at`. */
  mutate(n: number, atMs = Date.now()): Mutation {
    const updated = new Set<number>();
    const inserted: number[] = [];
    for (let k = 0; k < n; k++) {
      if (this.rng() < 0.2 || this.byId.size === 0) {
        const id = this.maxId + 1;
        this.put(newOrder(this.rng, id, atMs, atMs), atMs);
        inserted.push(id);
      } else {
        const id = intBetween(this.rng, 1, this.maxId);
        const e = this.byId.get(id);
        if (!e) continue;
        this.put(changeOrder(this.rng, e.order, atMs), atMs);
        updated.add(id);
      }
    }
    return { updated: [...updated].filter((id) => !inserted.includes(id)), inserted, at: new Date(atMs).toISOString() };
  }

  /** Changes order `id` as mutate does (a new version, `updated_at = at`); false when there is none. */
  touch(id: number, atMs = Date.now()): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    this.put(changeOrder(this.rng, e.order, atMs), atMs);
    return true;
  }

  /** Every order, by id, as deep copies: what a target must hold after a complete sync. */
  snapshot(): Order[] {
    return this.byIdOrder().map((e) => structuredClone(e.order));
  }

  /** Ordered by (updated_at, id): the order of the cursor and time window endpoints. */
  byTimeOrder(): readonly Entry[] {
    this.sortedByTime ??= [...this.byId.values()].sort((a, b) => a.t - b.t || a.order.id - b.order.id);
    return this.sortedByTime;
  }

  /** Ordered by id: the order of the starting_after and page endpoints (updates do not move records). */
  byIdOrder(): readonly Entry[] {
    this.sortedById ??= [...this.byId.values()].sort((a, b) => a.order.id - b.order.id);
    return this.sortedById;
  }
}

/** First index in a (t, id)-ordered list whose entry comes after (t, id). */
export function firstAfter(list: readonly Entry[], t: number, id: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = list[mid] as Entry;
    if (e.t < t || (e.t === t && e.order.id <= id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in a (t, id)-ordered list with updated_at >= t. */
export function firstAtOrAfter(list: readonly Entry[], t: number): number {
  return firstAfter(list, t, -Infinity);
}

export type { Entry };
