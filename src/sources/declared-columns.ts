import { isCsvSource, isHttpSource, type SourceConfig } from '../config/schema';
import type { ColumnSpec } from './source';

/**
 * The target columns a source's config declares with a PostgreSQL type (a CSV's or an API's `columns`): what the
 * CLI can check against the sink database before a run starts. Other sources learn their types from the source.
 */
export function declaredColumns(source: SourceConfig): ColumnSpec[] {
  if (isCsvSource(source)) {
    return Object.entries(source.columns ?? {}).flatMap(([csvName, spec]) => (typeof spec === 'string' ? [] : [{ name: spec.name ?? csvName, type: spec.type, notNull: false }]));
  }
  if (isHttpSource(source)) return source.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull }));
  return [];
}
