import type { HttpPagination } from '../../../config/http-source-schema';
import type { ReadOptions } from '../../source';
import type { LinkCursor } from '../cursors';
import { HttpStatusError } from '../http-errors';
import { getPath } from '../json-path';
import { NextLinks } from '../next-links';
import { formatTime } from '../time-format';
import type { PageContext, RecordPage } from './page-context';
import { SeenPositions } from './seen-positions';

type Style = Extract<HttpPagination, { style: 'link_header' | 'next_url' }>;

/**
 * The API hands over the next page's URL: in a `Link: <…>; rel="next"` header (GitHub, Shopify) or in
 * the body (Salesforce `nextRecordsUrl`, HAL `_links.next.href`). The API owns order and boundaries;
 * the list ends where it gives no next link, or a link to the page just read (a short page alone does not
 * end it); a link to a page met earlier in the read fails it (the list loops). The cursor holds the next
 * link (see NextLinks: same origin, no credentials).
 *
 * Without a sinceParam, the list is read to its end and the last page's own link is kept: the next
 * run reads that page again and follows on (harmless: the sink upserts), which suits lists that grow
 * at their end. With a sinceParam (GitHub `since`, Shopify `updated_at_min`), a pass holds
 * `since = T` fixed and follows the links to the end; the next pass starts at U = now - lag taken when
 * this pass began (kept in the cursor), so passes overlap by the changes after U and never leave a gap.
 */
/** Statuses with which an API refuses a next link that has expired (a Salesforce query locator after ~15 minutes idle). */
const STALE_LINK = new Set([400, 404, 410]);

export async function* nextLinkPages(ctx: PageContext, p: Style, links: NextLinks, after: LinkCursor | null, highWater: string | null, opts: ReadOptions, onStaleLink?: (message: string) => void): AsyncGenerator<RecordPage> {
  // In passes when the run has an upper bound (a sinceParam, or templates reading $since).
  const passes = highWater !== null;
  const field = p.style === 'link_header' ? 'pagination.rel' : 'pagination.next';
  const since = after && 'since' in after ? after.since : null;
  const until = after && 'until' in after ? after.until : highWater;
  let at: URL | undefined = after && 'next' in after ? links.open(after.next) : undefined;
  // A link from the stored cursor (a resumed pass), not one this run was handed: it may have expired since.
  let stored = at !== undefined;
  const seen = new SeenPositions(field, 'next link');
  if (at) seen.start(links.store(at));
  for (;;) {
    // The first request carries the filter and page size; next links carry their own.
    const size = ctx.pageSize(opts);
    const sinceText = since === null ? undefined : formatTime(since, p.sinceFormat);
    const params = at ? {} : { ...(p.sinceParam ? { [p.sinceParam]: sinceText } : {}), ...(p.limitParam ? { [p.limitParam]: String(size) } : {}) };
    let answer;
    try {
      answer = await ctx.get(params, opts, at, { since: sinceText, limit: size });
    } catch (err) {
      // An expired stored link in a pass: read the pass again from its since (the upsert makes the overlap harmless;
      // its upper bound stays). Without passes there is no since to go back to: the error stands.
      if (!(stored && passes && err instanceof HttpStatusError && STALE_LINK.has(err.status))) throw err;
      onStaleLink?.(`the stored next link answered ${err.status} (expired?): the pass was read again from its since (${since ?? 'the start'})`);
      [at, stored] = [undefined, false];
      seen.reset();
      continue;
    }
    stored = false;
    const { body, headers, records, requested } = answer;
    const raw = p.style === 'link_header' ? NextLinks.fromHeader(headers, p.rel) : getPath(body, p.next);
    const next = typeof raw === 'string' && raw !== '' ? links.resolve(raw, requested, field) : undefined;
    // A link to the page just read would loop forever: that is the end, like no link (as asked, or where a redirect led).
    if (next && next.href !== requested.href && next.href !== answer.asked?.href) {
      const stored = links.store(next);
      seen.next(stored, answer.url);
      yield { records: records, cursor: passes ? { since, next: stored, until: until as string } : { next: stored } };
      at = next;
      continue;
    }
    yield { records: records, cursor: passes ? { since: until } : { next: links.store(requested) } };
    return;
  }
}
