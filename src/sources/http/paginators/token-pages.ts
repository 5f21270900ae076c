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
 * says more follow (has-more true) an empty page with a new token goes on (up to 100 in a row); no token
 * in any answer of the read fails it (a wrong pagination.next path read as the end: 1,301 of 1,501 messages
 * lost), as does a token handed out earlier in the read (the list loops back). At the end
 * the API's last token is kept for the next run; an API that returns none at the end gets the last
 * page's own token back next run, so that page is read again (harmless: the sink upserts).
 */
export async function* tokenPages(ctx: PageContext, p: Style, after: TokenCursor | null, opts: ReadOptions): AsyncGenerator<RecordPage> {
  let token = after?.token ?? null;
  const watch = new CapWatch(ctx.cap);
  const seen = new SeenPositions('pagination.next', 'next cursor');
  if (token !== null) seen.start(token);
  // Whether this read has met a token at pagination.next: none ever, with has-more true, is a wrong path (the typo case).
  let found = token !== null;
  let empties = 0;
  for (;;) {
    const size = ctx.pageSize(opts);
    const { body, records, url } = await ctx.get({ [p.param]: token ?? undefined, [p.limitParam]: String(size) }, opts, undefined, { cursor: token ?? undefined, limit: size });
    const said = moreFlag(body, p);
    watch.answer(size, records.length, said);
    const raw = getPath(body, p.next);
    const next = typeof raw === 'string' && raw !== '' ? raw : typeof raw === 'number' ? String(raw) : null;
    if (said === true && next === null && !found) {
      // The page itself is good: kept (its cursor the one it was asked with), then the read stops.
      if (records.length) yield { records: records, cursor: token === null ? null : { token } };
      throw new HttpSourceError('pagination.next', `the API says more records follow (${moreSaid(p)}) but its answer has no next cursor at "${p.next}", and no answer of this read had one: tidemark stops rather than end the list here and skip the rest. Check pagination.next`, url);
    }
    found ||= next !== null;
    // The end: no token, or the same one again (an API whose has-more flag says "page full" may drop its token on an exactly
    // full last page); without a flag, an empty page. With has-more true, an empty page with a new token goes on.
    if ((said !== true && !mayHaveMore(said, records.length)) || next === null || next === token) {
      const keep = next ?? token;
      if (records.length || (next !== null && next !== token)) yield { records: records, cursor: keep === null ? null : { token: keep } };
      return;
    }
    // Checked before the page is handed on: its cursor would point back into the loop.
    seen.next(next, url);
    empties = records.length ? 0 : empties + 1;
    if (empties > MAX_EMPTY_PAGES) throw new HttpSourceError('pagination.hasMore', `the API answered ${empties} empty pages in a row, each saying more records follow (${moreSaid(p)}) with a new next cursor: tidemark stops rather than follow them without end`, url);
    yield { records: records, cursor: { token: next } };
    token = next;
  }
}

/** Empty pages in a row that has-more true may hand over (a filter that skips much): more is an API going round. */
const MAX_EMPTY_PAGES = 100;
