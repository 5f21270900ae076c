import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { OffsetCursor } from '../cursors';
import { getPath } from '../json-path';
import { CapWatch } from '../page-cap';
import { formatTime } from '../time-format';
import { type PageContext, type RecordPage, mayHaveMore, moreFlag } from './page-context';

type Style = Extract<HttpPagination, { style: 'offset' }>;

/**
 * `offset=n&limit=k` in the API's order, which must not change when a record is updated (e.g. by id),
 * as with page numbers (see ./page-number-pages). The cursor counts the records written, so the page
 * size may change inside a pass. A pass ends where the API says (total count reached, has-more false,
 * end flag true) or at an empty page: a short page proves nothing (the API may cap its pages silently).
 *
 * With a sinceParam (or request templates reading $since), a pass holds `since = T` fixed and the next one starts at U = now - lag taken when
 * this pass began (overlapping by the changes after U, never leaving a gap). Without one, every pass
 * reads the whole list again.
 */
export async function* offsetPages(ctx: PageContext, p: Style, after: OffsetCursor | null, highWater: string, opts: ReadOptions, templatesUseSince = false): AsyncGenerator<RecordPage> {
  const filtered = p.sinceParam !== undefined || templatesUseSince;
  const since = after?.since ?? null;
  const until = after && 'until' in after ? after.until : highWater;
  let offset = after && 'offset' in after ? after.offset : 0;
  const watch = new CapWatch(ctx.cap);
  for (;;) {
    const size = ctx.pageSize(opts);
    const filter = p.sinceParam ? { [p.sinceParam]: since === null ? undefined : formatTime(since, p.sinceFormat) } : {};
    const { body, records } = await ctx.get({ ...filter, [p.param]: String(offset), [p.limitParam]: String(size) }, opts, undefined, { since: since === null ? undefined : formatTime(since, p.sinceFormat), offset, limit: size });
    const said = moreFlag(body, p);
    watch.answer(size, records.length, said);
    offset += records.length;
    const total = p.total ? getPath(body, p.total) : undefined;
    const last = typeof total === 'number' ? offset >= total || records.length === 0 : !mayHaveMore(said, records.length);
    // The last page hands over to the next pass (even when empty, so the cursor moves on to U).
    yield { records: records, cursor: last ? { since: filtered ? until : null } : { since, offset, until } };
    if (last) return;
  }
}
