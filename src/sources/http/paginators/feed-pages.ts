import type { HttpPagination } from '../../../config/http-source-schema';
import type { Cursor } from '../../../cursor/cursor';
import type { ReadOptions } from '../../source';
import type { FeedCursor } from '../cursors';
import { HttpSourceError } from '../http-errors';
import { getPath } from '../json-path';
import { parseTime } from '../time-format';
import { compareTimes } from '../time-key';
import type { PageContext, RecordPage } from './page-context';

type Style = Extract<HttpPagination, { style: 'feed' }>;

/**
 * A newest-first list that cannot filter (a data feed): each run reads from the top with the inner
 * pagination and stops at the first record older than the cursor T (records at exactly T are read
 * again: harmless, the sink upserts). The next run's T is the newest time this run saw (N): whatever
 * is added or moved to the top meanwhile is at or after N and is read next run; inside a run the
 * cursor is `{since: T, newest: N, inner}` so a resumed run goes on from the inner position.
 */
export async function* feedPages(ctx: PageContext, p: Style, after: FeedCursor | null, opts: ReadOptions, innerPages: (ctx: PageContext, after: Cursor) => AsyncIterable<RecordPage>): AsyncGenerator<RecordPage> {
  const since = after?.since ?? null;
  let newest = after && 'newest' in after ? after.newest : null;
  for await (const page of innerPages(ctx, after && 'inner' in after ? ((after.inner ?? null) as Cursor) : null)) {
    const times = page.records.map((r, i) => {
      const t = parseTime(getPath(r, p.field), p.fieldFormat);
      if (t === undefined) throw new HttpSourceError('pagination.field', `record ${i} has no ${typeof p.fieldFormat === 'string' ? p.fieldFormat : p.fieldFormat.pattern} time at "${p.field}" (got ${JSON.stringify(getPath(r, p.field))})`);
      return t;
    });
    for (const t of times) if (newest === null || compareTimes(t, newest) > 0) newest = t;
    const stop = since === null ? -1 : times.findIndex((t) => compareTimes(t, since) < 0);
    if (stop >= 0) {
      yield { records: page.records.slice(0, stop), cursor: { since: newest ?? since } };
      return;
    }
    yield { records: page.records, cursor: { since, newest, inner: page.cursor } };
  }
  yield { records: [], cursor: { since: newest ?? since } };
}
