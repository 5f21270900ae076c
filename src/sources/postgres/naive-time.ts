import type { PostgresSourceConfig } from '../../config/schema';
import type { KeysetColumn } from '../../cursor/keyset-sql';
import { SourceSetupError } from './source-errors';

/**
 * The high-water mark of a run: "now - lag" on the first cursor column's own clock, as text in that
 * column's type (a domain's: its base type's). `timestamp with time zone` is absolute, so now(). A
 * `timestamp without time zone` holds the writers' wall-clock time, so now() is read in the writers' zone
 * (source.timeZone): `(now() AT TIME ZONE zone) - lag`. Reading it in the session's zone (UTC) instead would put
 * the mark hours ahead of the writers west of UTC (late commits behind it lost) and hours behind them east of
 * UTC (rows arriving hours late). A `date` is the writers' day: the mark is the day of now - lag in their zone,
 * and a run reads the days before it (`day < mark`: a day is read once it is over, never while rows may still
 * arrive for it); without source.timeZone, the zone whose day ends last (UTC-12), so no writer's day is read early.
 * Other types have no clock: no high-water mark, so no lag either.
 */
export interface HighWaterQuery {
  text: string;
  values: string[];
  clock: 'timestamptz' | 'timestamp' | 'date';
  /** The zone the mark is read in (timestamp, date); `assumed`: not configured, the latest day on earth. */
  zone?: { name: string; assumed: boolean };
}

/** A day ends last in UTC-12 (POSIX signs are reversed: Etc/GMT+12 is UTC-12). */
export const LATEST_DAY_ZONE = 'Etc/GMT+12';

/** The type that decides the clock: a domain's base type (baseType), without a precision ("timestamp(3) …"). */
export function clockType(col: KeysetColumn): string {
  return (col.baseType ?? col.type).replace(/\(\d+\)/, '');
}

export function highWaterQuery(first: KeysetColumn, cfg: Pick<PostgresSourceConfig, 'lag' | 'timeZone' | 'table'>): HighWaterQuery | null {
  const lag = `${cfg.lag} milliseconds`;
  const type = clockType(first);
  if (type === 'timestamp with time zone') return { text: 'SELECT (now() - $1::interval)::text AS hw', values: [lag], clock: 'timestamptz' };
  if (type === 'timestamp without time zone') {
    if (!cfg.timeZone) {
      throw new SourceSetupError(
        'source.timeZone',
        `is required: cursor column "${first.name}" of ${cfg.table} is timestamp without time zone, which holds the writers' local time; ` +
          'set source.timeZone to the IANA zone the writers use (e.g. "Europe/Berlin", or "UTC" if they store UTC), so now() - lag is computed in that zone',
      );
    }
    return { text: `SELECT ((now() AT TIME ZONE $2::text) - $1::interval)::text AS hw`, values: [lag, cfg.timeZone], clock: 'timestamp', zone: { name: cfg.timeZone, assumed: false } };
  }
  if (type === 'date') {
    const zone = cfg.timeZone ?? LATEST_DAY_ZONE;
    return { text: `SELECT ((now() AT TIME ZONE $2::text) - $1::interval)::date::text AS hw`, values: [lag, zone], clock: 'date', zone: { name: zone, assumed: !cfg.timeZone } };
  }
  if (cfg.lag > 0) {
    throw new SourceSetupError('source.lag', `needs a timestamp or date as the first cursor column, but "${first.name}" is ${first.type}: remove lag or put a timestamp column first`);
  }
  return null;
}
