import type { EncodedPage } from '../sources/source';

/**
 * Rows read from the source versus rows counted in committed page transactions. A page's transaction
 * counts everything read since the last commit: the page itself, and the next page when its read (in
 * flight during the write) has finished. So when a worker dies while writing page k+1, page k+1 was
 * usually counted with page k and counts again when the retry commits it: rows_read - rows_committed
 * stays what crashes cost, with no statement of its own per page.
 */
export class ReadTally {
  private read = 0;
  private reported = 0;
  /** rows of pages handed to the writer */
  private begun = 0;
  /** rows counted by page transactions sent and not yet committed or failed (a page sent ahead, see send-ahead) */
  private claimed = 0;

  /** Counts pages as the source yields them (wrap it before prefetch, so a page read ahead counts when its read ends). */
  async *counting(pages: AsyncIterable<EncodedPage>): AsyncGenerator<EncodedPage> {
    for await (const page of pages) {
      this.read += page.count;
      yield page;
    }
  }

  written(rows: number): void {
    this.begun += rows;
  }

  /** Rows read and not yet counted by a page transaction: what this page's transaction adds to rows_read. */
  unreported(): number {
    return this.read - this.reported - this.claimed;
  }

  /** unreported(), now counted by a transaction on its way: committed() or released() says how it ended. */
  claim(): number {
    const rows = this.unreported();
    this.claimed += rows;
    return rows;
  }

  /** The transaction that claimed `rows` failed: another one counts them. */
  released(rows: number): void {
    this.claimed -= rows;
  }

  /** The page's transaction committed with `rows` counted (claimed, or taken from unreported()). */
  committed(rows: number, claimed = false): void {
    this.reported += rows;
    if (claimed) this.claimed -= rows;
  }

  /**
   * At a stop the process survives: rows_read counts exactly the pages begun (a page read ahead was not
   * written, a page whose transaction failed was): what to add (or subtract) to make it so.
   */
  correction(): number {
    return this.begun - this.reported;
  }
}
