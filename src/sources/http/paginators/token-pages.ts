import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { TokenCursor } from '../cursors';
import { getPath } from '../json-path';
import { CapWatch } from '../page-cap';
import { type PageContext, type RecordPage, mayHaveMore, moreFlag } from './page-context';

type Style = Extract<HttpPagination, { style: 'cursor' }>;

/**
 * Next-cursor tokens. The API owns the order and the boundaries (records after the token, none
 * repeated or skipped, however many share a timestamp); tidemark stores the token that follows each
 * page. The list ends where the API says so: has-more false, no next token (or the same one again), or
 * an empty page; a short page alone does not end it (the API may cap its pages silently). At the end
 * the API's last token is kept for the next run; an API that returns none at the end gets the last
 * page's own token back next run, so that page is read again (harmless: the sink upserts).
 */
export async function* tokenPages(ctx: PageContext, p: Style, after: TokenCursor | null, opts: ReadOptions): AsyncGenerator<RecordPage> {
  let token = after?.token ?? null;
  const watch = new CapWatch(ctx.cap);
  for (;;) {
    const size = ctx.pageSize(opts);
    const { body, records } = await ctx.get({ [p.param]: token ?? undefined, [p.limitParam]: String(size) }, opts, undefined, { cursor: token ?? undefined, limit: size });
    const said = moreFlag(body, p);
    watch.answer(size, records.length, said);
    const raw = getPath(body, p.next);
    const next = typeof raw === 'string' && raw !== '' ? raw : typeof raw === 'number' ? String(raw) : null;
    const keep = next ?? token;
    const cursor = keep === null ? null : { token: keep };
    if (records.length || (next !== null && next !== token)) yield { records: records, cursor };
    // No token, or the same one again, would loop forever: that is the end whatever the flag says.
    if (!mayHaveMore(said, records.length) || next === null || next === token) return;
    token = next;
  }
}
