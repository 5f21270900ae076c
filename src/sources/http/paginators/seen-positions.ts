import { createHash } from 'node:crypto';
import { HttpSourceError } from '../http-errors';

/** Positions remembered per read: beyond this many pages a loop further back goes unseen (about 80 MB at most). */
const MAX_REMEMBERED = 1_000_000;

/**
 * The positions (next cursors, next links) an API handed out in one read. One handed out again after another
 * page means its list loops back: read on, tidemark would fetch the same pages forever (an acceptance run:
 * 1,177 requests in a minute for a 1,501-message channel, `status` counting 255,600 rows). It fails instead,
 * naming the field; the pages before it are kept. Long positions are kept as their SHA-256.
 */
export class SeenPositions {
  private readonly pageOf = new Map<string, number>();
  private pages = 0;

  constructor(
    private readonly field: string,
    private readonly what: string,
  ) {}

  /** The position the read starts from (a stored cursor): handed out "before page 1". */
  start(position: string): void {
    this.pageOf.set(keyOf(position), 0);
  }

  /** `position` follows the page just read; throws when an earlier page was followed by the same one. */
  next(position: string, url: string): void {
    this.pages++;
    const key = keyOf(position);
    const at = this.pageOf.get(key);
    if (at !== undefined) {
      const where = at === 0 ? 'the one this read started from' : `the one after page ${at}`;
      throw new HttpSourceError(this.field, `the ${this.what} after page ${this.pages} of this read is ${where}: the API's list loops back, and read on it would fetch the same pages forever. The pages before are kept; check the pagination settings, or the API`, url);
    }
    if (this.pageOf.size < MAX_REMEMBERED) this.pageOf.set(key, this.pages);
  }

  /** The read starts over (an expired stored link: the pass is read again from its since). */
  reset(): void {
    this.pageOf.clear();
    this.pages = 0;
  }
}

function keyOf(position: string): string {
  return position.length <= 48 ? position : createHash('sha256').update(position).digest('base64');
}
