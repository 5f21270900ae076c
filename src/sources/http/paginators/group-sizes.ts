/**
 * The page sizes groups of records at one instant grew to, by the window start each was read from (the last few).
 * A window read again from there (its end moved: another shard took the rest of the range, and the page in flight
 * crossed the cut) asks that size at once instead of growing to it again, one round trip per doubling. Any limit
 * is a valid request: this only saves requests.
 */
export class GroupSizes {
  private readonly sizes = new Map<string, number>();

  /** A group read from `from` needed `size` records per page. */
  note(from: string, size: number): void {
    this.sizes.delete(from);
    this.sizes.set(from, size);
    if (this.sizes.size > GROUPS_KEPT) this.sizes.delete(this.sizes.keys().next().value as string);
  }

  /** The first page size of a window read from `from`: the group's, when one grew there, else `size`. */
  first(from: string, size: number): number {
    const grown = this.sizes.get(from);
    return grown !== undefined && grown > size ? grown : size;
  }
}

/** Groups remembered per source: a shard restarts from its last checkpoint, a page or two back. */
const GROUPS_KEPT = 8;
