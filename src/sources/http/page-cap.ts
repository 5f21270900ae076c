/**
 * What tidemark has learned about an endpoint's page size. Many APIs cap it silently whatever `limit`
 * asks (GitHub and Stripe at 100, Shopify at 250) and say nothing: a short page then proves nothing
 * about the end of the list. Kept per worker and endpoint, outside any cursor (a cursor holds only
 * positions), so later requests and later runs ask for what the API gives.
 */
export class PageCap {
  /** The most records one answer has held: the API gives at least this many per request. */
  capacity = 0;
  /** Proven cap: an answer of this many records, fewer than asked, was followed by more. */
  cap: number | undefined;
  private asks = 0;

  /** Every answer: its size raises the known capacity (and disproves a smaller cap, e.g. one the API raised). */
  seen(count: number): void {
    this.capacity = Math.max(this.capacity, count);
    if (this.cap !== undefined && count > this.cap) this.cap = undefined;
  }

  /** An answer of `count` records, fewer than asked, turned out not to be the end. */
  learn(count: number): void {
    if (count > 0) this.cap = count;
  }

  /**
   * What to ask for: the configured size, or the cap once learned. Every RECHECK-th request asks the
   * configured size again: a cap learned wrongly (records added between two requests at the live end
   * of a list) or raised since would otherwise slow every later read for good.
   */
  limit(size: number): number {
    if (this.cap === undefined || ++this.asks % RECHECK === 0) return size;
    return Math.min(size, this.cap);
  }
}

const RECHECK = 50;

const learned = new Map<string, PageCap>();

/** The worker's knowledge about the endpoint `key` (the URL with its static parameters; never shown). */
export function pageCapOf(key: string): PageCap {
  let cap = learned.get(key);
  if (!cap) learned.set(key, (cap = new PageCap()));
  return cap;
}

/** Forget every learned cap (tests: each starts from what the API shows it). */
export function forgetPageCaps(): void {
  learned.clear();
}

/**
 * Learns a cap from a read in list order (cursor, starting_after, page): an answer shorter than asked,
 * with no flag, followed by one with records, was cut by the API, not by the end of the list.
 */
export class CapWatch {
  private short: number | undefined;

  constructor(private readonly cap: PageCap) {}

  /** After each answer: `asked` records were asked, `count` came; `said`: the API's has-more flag, if it sent one. */
  answer(asked: number, count: number, said: boolean | undefined): void {
    this.cap.seen(count);
    if (this.short !== undefined && count > 0) this.cap.learn(this.short);
    this.short = undefined;
    if (count > 0 && count < asked) {
      if (said === true) this.cap.learn(count);
      else if (said === undefined) this.short = count;
    }
  }
}
