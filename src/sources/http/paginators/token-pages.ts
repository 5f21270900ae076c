import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { TokenCursor } from '../cursors';
import { getPath } from '../json-path';
import { CapWatch } from '../page-cap';
import { HttpSourceError } from '../http-errors';
import { type PageContext, type RecordPage, mayHaveMore, moreFlag, moreSaid } from './page-context';
import { SeenPositions } from './seen-positions';

type Style = Extract<HttpPagination, { style: 'cursor' }>;

/**
 * Next-cursor tokens. The API owns the order and the boundaries (records after the token, none
 * repeated or skipped, however many share a timestamp); tidemark stores the token that follows each
 * page. The list ends where the API says so: has-more false, no next token (or the same one again), or
 * an empty page; a short page alone does not end it (the API may cap its pages silently). Where the API
 * says more follow (has-more true) an empty page with a new token goes on, and no token, the same one
 * again or one handed out earlier in this read fails the run: ending there would skip the rest unseen
 * (a wrong pagination.next path read as the end, 1,301 of 1,501 messages lost). At the end
 * the API's last token is kept for the next run; an API that returns none at the end gets the last
 * page's own token back next run, so that page is read again (harmless: the sink upserts).
 */
export async function* tokenPages(ctx: PageContext, p: Style, after: TokenCursor | null, opts: ReadOptions): AsyncGenerator<RecordPage> {
  let token = after?.token ?? null;
  const watch = new CapWatch(ctx.cap);
  const seen = new SeenPositions('pagination.next', 'next cursor');
  if (token !== null) seen.start(token);
  for (;;) {
    const size = ctx.pageSize(opts);
    const { body, records, url } = await ctx.get({ [p.param]: token ?? undefined, [p.limitParam]: String(size) }, opts, undefined, { cursor: token ?? undefined, limit: size });
    const said = moreFlag(body, p);
    watch.answer(size, records.length, said);
    const raw = getPath(body, p.next);
    const next = typeof raw === 'string' && raw !== '' ? raw : typeof raw === 'number' ? String(raw) : null;
    const keep = next ?? token;
    const cursor = keep === null ? null : { token: keep };
    if (records.length || (next !== null && next !== token)) yield { records: records, cursor };
    if (said === true) {
      if (next === null) throw new HttpSourceError('pagination.next', `the API says more records follow (${moreSaid(p)}) but its answer has no next cursor at "${p.next}": tidemark stops rather than end the list here and skip the rest. Check pagination.next`, url);
      if (next === token) throw new HttpSourceError('pagination.next', `the API says more records follow (${moreSaid(p)}) but handed back the cursor it was asked with: read on, it would fetch this page forever`, url);
    } else if (!mayHaveMore(said, records.length) || next === null || next === token) return; // no flag: no new token is the end
    seen.next(next, url);
    token = next;
  }
}
