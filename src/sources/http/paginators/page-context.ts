import type { ReadOptions } from '../../source';
import type { Row } from '../records';

/** What a pagination style needs from the source: one GET, records → rows, the page size. */
export interface PageContext {
  /** GET the endpoint with these query parameters added (undefined: left out) → body and its records array. */
  get(params: Record<string, string | undefined>, opts: ReadOptions): Promise<{ body: unknown; records: unknown[]; url: string }>;
  toRows(records: readonly unknown[]): Row[];
  /** records per request */
  pageSize(opts: ReadOptions): number;
}

/** The body's "more pages" flag when it has one; otherwise a full page means there may be more. */
export function hasMore(flag: unknown, count: number, size: number): boolean {
  if (typeof flag === 'boolean') return flag && count > 0;
  return count >= size;
}
