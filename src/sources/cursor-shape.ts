import { isCsvSource, isHttpSource, isPostgresSource, type SourceConfig } from '../config/schema';
import { parseKeysetCursor, type Cursor, type JsonValue } from '../cursor/cursor';
import { parseCsvCursor } from './csv/csv-cursor';
import { childCursorParser } from './http/children/child-cursor';
import { checkHttpRange, parseHttpCursor } from './http/cursors';

/**
 * A cursor from outside (`backfill --from`) checked against the source's config alone, with no connection and no
 * secret: its shape (a postgres source's one value per cursor column, an http style's fields, a CSV offset). The
 * values themselves are checked by the worker against the source's column types. A custom kind's cursor is its
 * own: undefined (not checked here). An http cursor's range must not be stated backwards (checkHttpRange). Throws the
 * source's InvalidCursorError.
 */
export function checkCursorShape(cfg: SourceConfig, value: unknown): Cursor | undefined {
  if (isPostgresSource(cfg)) return parseKeysetCursor(value, cfg.cursor);
  if (isCsvSource(cfg)) return parseCsvCursor(value);
  if (isHttpSource(cfg)) {
    if (cfg.parent) return childCursorParser(cfg.parent.pagination.style, cfg.pagination.style)(value);
    checkHttpRange(cfg.pagination.style, value);
    return parseHttpCursor(cfg.pagination.style, value);
  }
  return undefined;
}

/**
 * What a cursor of this source is a position of, saved with each checkpoint (migration 018): a PostgreSQL source's
 * cursor columns, in order. Two configs whose cursors have one shape but other meanings differ here. null: nothing to
 * compare (a CSV offset, an API's cursor, whose shape says it all, or a custom kind's).
 */
export function cursorIdentity(cfg: SourceConfig): JsonValue {
  return isPostgresSource(cfg) ? { columns: [...cfg.cursor] } : null;
}
