import type { PostgresSourceConfig } from '../../config/schema';
import type { KeysetColumn } from '../../cursor/keyset-sql';
import { SourceSetupError } from './source-errors';

/**
 * The high-water mark of a run: "now - lag" on the first cursor column's own clock, as text in that
 * column's type. `timestamp with time zone` is absolute, so now(). A `timestamp without time zone`
 * holds the writers' wall-clock time, so now() is read in the writers' zone (source.timeZone):
 * `(now() AT TIME ZONE zone) - lag`. Reading it in the session's zone (UTC) instead would put the mark
 * hours ahead of the writers west of UTC (late commits behind it lost) and hours behind them east of
 * UTC (rows arriving hours late). Other types have no clock: no high-water mark, so no lag either.
 */
export interface HighWaterQuery {
  text: string;
  values: string[];
}

export function highWaterQuery(first: KeysetColumn, cfg: Pick<PostgresSourceConfig, 'lag' | 'timeZone' | 'table'>): HighWaterQuery | null {
  const lag = `${cfg.lag} milliseconds`;
  // format_type() prints a precision: "timestamp(3) without time zone".
  const type = first.type.replace(/\(\d+\)/, '');
  if (type === 'timestamp with time zone') return { text: 'SELECT (now() - $1::interval)::text AS hw', values: [lag] };
  if (type === 'timestamp without time zone') {
    if (!cfg.timeZone) {
      throw new SourceSetupError(
        'source.timeZone',
        `is required: cursor column "${first.name}" of ${cfg.table} is timestamp without time zone, which holds the writers' local time; ` +
          'set source.timeZone to the IANA zone the writers use (e.g. "Europe/Berlin", or "UTC" if they store UTC), so now() - lag is computed in that zone',
      );
    }
    return { text: `SELECT ((now() AT TIME ZONE $2::text) - $1::interval)::text AS hw`, values: [lag, cfg.timeZone] };
  }
  if (cfg.lag > 0) {
    throw new SourceSetupError('source.lag', `needs a timestamp as the first cursor column, but "${first.name}" is ${first.type}: remove lag or put a timestamp column first`);
  }
  return null;
}
