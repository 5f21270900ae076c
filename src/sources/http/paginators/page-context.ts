import type { Cursor } from '../../../cursor/cursor';
import type { ReadOptions } from '../../source';
import { getPath } from '../json-path';
import type { PageCap } from '../page-cap';
import type { TemplateVars } from '../request-templates';
import type { GroupSizes } from './group-sizes';

/** What a pagination style needs from the source: one GET, the page size. */
export interface PageContext {
  /**
   * Request the endpoint (or `at`, a next link already checked to be on the source's origin) with these
   * query parameters added (undefined: left out) → body, headers and the records array; `url` is the
   * request's URL for messages (secrets masked), `requested` the URL itself (to resolve relative links).
   * `vars`: the same values by meaning, for source.request templates (which then replace `params`).
   */
  get(params: Record<string, string | undefined>, opts: ReadOptions, at?: URL, vars?: TemplateVars): Promise<PageAnswer>;
  /** records per request: the configured size (pageSize, else the batch size; at most maxPageSize), or the learned cap */
  pageSize(opts: ReadOptions): number;
  /** what the worker has learned about this endpoint's page size */
  cap: PageCap;
  /** the page sizes groups at one instant grew to (time windows), see GroupSizes */
  groups: GroupSizes;
}

/**
 * What a pagination style yields: an answer's records as the API sent them, and the cursor after them. The
 * source makes them rows (records.ts rowPages) while the next page's request is already out: a style
 * needs a page's cursor to ask for the next one, never its rows.
 */
export interface RecordPage {
  records: unknown[];
  cursor: Cursor;
}

export interface PageAnswer {
  body: unknown;
  headers: Headers;
  records: unknown[];
  url: string;
  requested: URL;
  /** the URL asked, when a redirect answered from another (`requested`) */
  asked?: URL;
}

/** The API's has-more flag, when the body has one at `path`'s value. */
export function flagOf(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/** Whether the API says more pages follow: its has-more flag, or the inverse of its end flag (Zendesk's end_of_stream). */
export function moreFlag(body: unknown, p: { hasMore?: string; endFlag?: string }): boolean | undefined {
  if (p.endFlag !== undefined) {
    const end = flagOf(getPath(body, p.endFlag));
    return end === undefined ? undefined : !end;
  }
  return p.hasMore === undefined ? undefined : flagOf(getPath(body, p.hasMore));
}

/** How the API said more pages follow, for messages: its has-more flag true, or its end flag false. */
export function moreSaid(p: { hasMore?: string; endFlag?: string }): string {
  return p.endFlag !== undefined ? `"${p.endFlag}" is false` : `"${p.hasMore}" is true`;
}

/**
 * Whether more pages may follow. The API's flag decides when it sends one; otherwise only an empty page
 * ends the list: an API may cap its pages silently, so a page shorter than asked proves nothing.
 */
export function mayHaveMore(said: boolean | undefined, count: number): boolean {
  return count > 0 && said !== false;
}
