import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { PageCursor } from '../cursors';
import { getPath } from '../json-path';
import { CapWatch } from '../page-cap';
import { formatTime } from '../time-format';
import type { PageContext, RecordPage } from './page-context';

type Style = Extract<HttpPagination, { style: 'page' }>;

/**
 * Page numbers with an `updated_since` filter. A pass keeps `updated_since = T` fixed and walks pages
 * 1, 2, … in the API's order, which must not change when a record is updated (e.g. by id): an update
 * keeps its record on its page and inside the filter, so no record shifts across a page boundary
 * and none is skipped, however many share one `updated_at`. (Deletions do shift pages; tidemark does
 * not propagate deletions, but a deletion during a pass can make the pass miss one record until that
 * record next changes.)
 *
 * The cursor inside a pass holds its page size too: page n only means the same records at the same size.
 *
 * A pass ends at the last page by the API's page count (totalPages), or else at an empty page: a page
 * shorter than asked proves nothing (an API may cap per_page silently; then its pages are simply
 * smaller, and walking them to the empty one still reads each record once). A learned cap applies
 * from the next pass: changing the page size inside a pass would move the page boundaries.
 *
 * Range of a pass: `updated_at >= T` (closed, as APIs define updated_since), read up to whatever the
 * list holds. The next pass starts at U = now - lag taken when this pass began (the run's high-water
 * mark, kept in the cursor so a resumed pass keeps it): every change made after U is >= U and is read
 * again by the next pass, so passes overlap by the changes after U (re-reading a record is harmless
 * only because the sink upserts idempotently) and never leave a gap.
 */
export async function* pageNumberPages(ctx: PageContext, p: Style, after: PageCursor | null, highWater: string, opts: ReadOptions): AsyncGenerator<RecordPage> {
  const since = after?.since ?? null;
  const until = after && 'until' in after ? after.until : highWater;
  let page = after && 'page' in after ? after.page + 1 : p.firstPage;
  // Page n means records (n-1)·size…n·size: a pass keeps its page size, even if batchSize changes meanwhile.
  const size = after && 'perPage' in after ? after.perPage : ctx.pageSize(opts);
  const watch = new CapWatch(ctx.cap);
  for (;;) {
    const { body, records } = await ctx.get({ [p.sinceParam]: since === null ? undefined : formatTime(since, p.sinceFormat), [p.param]: String(page), [p.limitParam]: String(size) }, opts, undefined, { since: since === null ? undefined : formatTime(since, p.sinceFormat), page, limit: size });
    watch.answer(size, records.length, undefined);
    const total = p.totalPages ? getPath(body, p.totalPages) : undefined;
    const last = typeof total === 'number' ? page - p.firstPage + 1 >= total : records.length === 0;
    // The last page hands over to the next pass (even when empty, so the cursor moves on to U).
    yield { records: records, cursor: last ? { since: until } : { since, page, perPage: size, until } };
    if (last) return;
    page++;
  }
}
