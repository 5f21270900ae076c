import type { HttpPagination } from '../../config/http-pagination-schema';

/**
 * A new run's upper bound at `ms`. A pass (page, offset, next links: the next pass's since) floors it to the whole
 * second: APIs commonly keep times in whole seconds (GitHub, Shopify, Zendesk), so a record changed in the second a
 * pass began carries a time before that instant, and a since in milliseconds would leave it behind for good (found
 * by an acceptance run). Passes overlap by up to a second instead. Time windows keep it: their format cuts it.
 */
export function passBound(style: HttpPagination['style'], ms: number): string {
  const windows = style === 'time_window' || style === 'time_slices';
  return new Date(windows ? ms : Math.floor(ms / 1000) * 1000).toISOString();
}
