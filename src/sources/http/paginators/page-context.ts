import type { ReadOptions } from '../../source';
import type { PageCap } from '../page-cap';
import type { Row } from '../records';

/** What a pagination style needs from the source: one GET, records → rows, the page size. */
export interface PageContext {
  /** GET the endpoint with these query parameters added (undefined: left out) → body and its records array. */
  get(params: Record<string, string | undefined>, opts: ReadOptions): Promise<{ body: unknown; records: unknown[]; url: string }>;
  toRows(records: readonly unknown[]): Row[];
  /** records per request: the configured size (pageSize, else the batch size; at most maxPageSize), or the learned cap */
  pageSize(opts: ReadOptions): number;
  /** what the worker has learned about this endpoint's page size */
  cap: PageCap;
}

/** The API's has-more flag, when the body has one at `path`'s value. */
export function flagOf(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * Whether more pages may follow. The API's flag decides when it sends one; otherwise only an empty page
 * ends the list: an API may cap its pages silently, so a page shorter than asked proves nothing.
 */
export function mayHaveMore(said: boolean | undefined, count: number): boolean {
  return count > 0 && said !== false;
}
