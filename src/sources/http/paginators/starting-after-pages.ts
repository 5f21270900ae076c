import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { StartingAfterCursor } from '../cursors';
import { HttpSourceError } from '../http-errors';
import { getPath } from '../json-path';
import { CapWatch } from '../page-cap';
import { type PageContext, type RecordPage, mayHaveMore, moreFlag, moreSaid } from './page-context';

type Style = Extract<HttpPagination, { style: 'starting_after' }>;

/**
 * Stripe style: `starting_after=<id of the last record>` over records in ascending id order. The
 * lower end is open (records with an id after the cursor), the upper end is wherever the list ends
 * now: has-more false, or an empty page (a short page alone is not the end: the API may cap its pages
 * silently; an empty one while has-more is true fails the run). Ids are unique, so nothing at a page boundary is skipped or repeated. New records are
 * seen; an update to a record already passed is not (this style suits append-only lists).
 */
export async function* startingAfterPages(ctx: PageContext, p: Style, after: StartingAfterCursor | null, opts: ReadOptions): AsyncGenerator<RecordPage> {
  let last = after?.startingAfter ?? null;
  const watch = new CapWatch(ctx.cap);
  for (;;) {
    const size = ctx.pageSize(opts);
    const { body, records, url } = await ctx.get({ [p.param]: last === null ? undefined : String(last), [p.limitParam]: String(size) }, opts, undefined, { cursor: last ?? undefined, limit: size });
    const said = moreFlag(body, p);
    watch.answer(size, records.length, said);
    if (!records.length) {
      // Nothing to start after: ending here would skip what the API says is left.
      if (said === true) throw new HttpSourceError('pagination.hasMore', `the API says more records follow (${moreSaid(p)}) but sent an empty page, so there is no last id to continue after: tidemark stops rather than end the list here`, url);
      return;
    }
    const id = getPath(records[records.length - 1], p.idField);
    if (!(typeof id === 'string' && id !== '') && !(typeof id === 'number' && Number.isFinite(id))) {
      throw new HttpSourceError('pagination.idField', `the last record has no string or number at "${p.idField}" (got ${JSON.stringify(id)})`, url);
    }
    if (id === last) throw new HttpSourceError('pagination.param', `the API returned the record after which it was asked to start (id ${JSON.stringify(id)}): does it support "${p.param}"?`, url);
    last = id;
    yield { records: records, cursor: { startingAfter: id } };
    if (!mayHaveMore(said, records.length)) return;
  }
}
