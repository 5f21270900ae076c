import type { HttpPagination } from '../../../config/http-source-schema';
import { HttpSourceError } from '../http-errors';
import { getPath } from '../json-path';
import { parseTime } from '../time-format';
import { compareTimes } from '../time-key';

type Style = Extract<HttpPagination, { style: 'time_window' }>;

/** The record's timestamp at `field` (in the style's fieldFormat) as exact ISO text, or an error naming the record. */
export function timeOf(record: unknown, i: number, p: Style, url: string): string {
  const v = getPath(record, p.field);
  const t = parseTime(v, p.fieldFormat);
  if (t === undefined) throw new HttpSourceError('pagination.field', `record ${i} has no ${typeof p.fieldFormat === 'string' ? p.fieldFormat : JSON.stringify(p.fieldFormat.pattern)} time at "${p.field}" (got ${JSON.stringify(v)}): check pagination.field and pagination.fieldFormat`, url);
  return t;
}

/** The whole method rests on the API honouring the window and the order: check both on every page. */
export function checkWindow(times: string[], from: string, to: string, p: Style, url: string): void {
  times.forEach((t, i) => {
    if (compareTimes(t, from) < 0 || compareTimes(t, to) >= 0) {
      throw new HttpSourceError('pagination', `the API returned ${p.field} = ${t}, outside the requested window [${from}, ${to}): check fromParam/toParam ("${p.fromParam}", "${p.toParam}")`, url);
    }
    if (i > 0 && compareTimes(t, times[i - 1] as string) < 0) {
      throw new HttpSourceError('pagination', `records must come in ascending ${p.field} order (record ${i} goes back from ${times[i - 1]} to ${t}): add the API's sort parameter to source.params`, url);
    }
  });
}

