import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { OffsetCursor } from '../cursors';
import { HttpSourceError } from '../http-errors';
import { getPath } from '../json-path';
import { CapWatch } from '../page-cap';
import { formatTime } from '../time-format';
import { type PageContext, type RecordPage, mayHaveMore, moreFlag, moreSaid } from './page-context';

type Style = Extract<HttpPagination, { style: 'offset' }>;

/**
 * `offset=n&limit=k` in the API's order, which must not change when a record is updated (e.g. by id),
 * as with page numbers (see ./page-number-pages). The cursor counts the records written, so the page
 * size may change inside a pass. A pass ends where the API says (total count reached, has-more false,
 * end flag true) or at an empty page: a short page proves nothing (the API may cap its pages silently). An
 * empty page that its own answer's total or has-more flag contradicts fails the run instead.
 *
 * With a sinceParam (or request templates reading $since), a pass holds `since = T` fixed and the next one starts at U = now - lag taken when
 * this pass began (overlapping by the changes after U, never leaving a gap). Without one, every pass
 * reads the whole list again.
 *
 * An API that caps offset + limit (HubSpot search: 10,000) takes `maxOffset` and `anchorField`: at the cap the pass
 * goes on as a new search after the last record read (`$anchor` in the templates, e.g. `id > $anchor`), from offset 0,
 * which needs the list sorted by that unique field. The anchor is in the cursor, so a resumed pass keeps it.
 */
export async function* offsetPages(ctx: PageContext, p: Style, after: OffsetCursor | null, highWater: string, opts: ReadOptions, templatesUseSince = false): AsyncGenerator<RecordPage> {
  const filtered = p.sinceParam !== undefined || templatesUseSince;
  const since = after?.since ?? null;
  const until = after && 'until' in after ? after.until : highWater;
  let offset = after && 'offset' in after ? after.offset : 0;
  let anchor = after && 'anchor' in after ? after.anchor : undefined;
  const watch = new CapWatch(ctx.cap);
  for (;;) {
    // Never past the API's cap on offset + limit: the page before it is cut to end there.
    const size = p.maxOffset !== undefined ? Math.min(ctx.pageSize(opts), p.maxOffset - offset) : ctx.pageSize(opts);
    const filter = p.sinceParam ? { [p.sinceParam]: since === null ? undefined : formatTime(since, p.sinceFormat) } : {};
    const { body, records, url } = await ctx.get({ ...filter, [p.param]: String(offset), [p.limitParam]: String(size) }, opts, undefined, { since: since === null ? undefined : formatTime(since, p.sinceFormat), offset, limit: size, anchor });
    const said = moreFlag(body, p);
    watch.answer(size, records.length, said);
    offset += records.length;
    const total = p.total ? getPath(body, p.total) : undefined;
    // An empty page where the API's own answer says more follow: ending would skip the rest unseen, asking again
    // would get the same empty page (the offset did not move).
    if (!records.length && typeof total === 'number' && offset < total) {
      throw new HttpSourceError('pagination.total', `the API answered an empty page at offset ${offset}, but its total ("${p.total}") in the same answer is ${total}: tidemark stops rather than skip ${total - offset} records. If that total counts records the list cannot page to, leave pagination.total out`, url);
    }
    if (!records.length && typeof total !== 'number' && said === true) {
      throw new HttpSourceError('pagination.hasMore', `the API answered an empty page at offset ${offset} and says more records follow (${moreSaid(p)}): tidemark stops rather than end the list here`, url);
    }
    const last = typeof total === 'number' ? offset >= total || records.length === 0 : !mayHaveMore(said, records.length);
    // At the cap, the pass goes on as a new search after the last record read (HubSpot: id > $anchor), from offset 0.
    if (!last && p.maxOffset !== undefined && offset >= p.maxOffset) [anchor, offset] = [nextAnchor(p, records, anchor, url), 0];
    // The last page hands over to the next pass (even when empty, so the cursor moves on to U).
    yield { records: records, cursor: last ? { since: filtered ? until : null } : { since, offset, until, ...(anchor !== undefined ? { anchor } : {}) } };
    if (last) return;
  }
}

/** The anchor of the next search: the last record's anchorField, which must be a string or number beyond the one before. */
function nextAnchor(p: Style, records: unknown[], before: string | number | undefined, url: string): string | number {
  const field = p.anchorField as string;
  const value = getPath(records[records.length - 1], field);
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new HttpSourceError('pagination.anchorField', `the last record before maxOffset has no string or number at "${field}" (got ${JSON.stringify(value)})`, url);
  }
  const [a, b] = [before, value].map((v) => (v === undefined ? undefined : /^-?\d+$/.test(String(v)) ? BigInt(v) : undefined));
  if (before !== undefined && (value === before || (a !== undefined && b !== undefined && b <= a))) {
    throw new HttpSourceError('pagination.anchorField', `the search after "${field}" ${JSON.stringify(before)} ended at ${JSON.stringify(value)}, not beyond it: the list must be sorted by ${field}, ascending and unique, and the templates must filter on $anchor`, url);
  }
  return value;
}
