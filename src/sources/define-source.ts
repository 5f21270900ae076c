import { InvalidCursorError, type Cursor } from '../cursor/cursor';
import { PermanentError } from '../errors';
import type { ColumnSpec, Page, PrepareOptions, ReadOptions, Source, SourcePlan } from './source';

/**
 * The simple way to write a source: read one page of records after a cursor, return them with the
 * cursor after the last one (`null` in, from the start). tidemark does the rest: checkpoints committed
 * with each page, heartbeats, resume, upserts. Range semantics are yours: the next call must return
 * exactly the records after the returned cursor (an open lower end), so nothing is read twice or skipped.
 */
export interface SimpleSource<C extends Cursor = Cursor> {
  /** Target columns: record fields of these names become columns of these PostgreSQL types. */
  columns: Array<{ name: string; type: string; notNull?: boolean }>;
  /**
   * Up to `limit` records after `after`, in cursor order, and the cursor after the last one. The run ends at an
   * empty page (an API that caps its pages below `limit` is read on, not taken as finished), or at a page returned
   * with `done: true`. Every declared column is a key of each record (null when it has no value).
   */
  read(after: C | null, limit: number, ctx: { signal?: AbortSignal }): Promise<{ records: Array<Record<string, unknown>>; cursor: C | null; done?: boolean }>;
  /** Validates a cursor from outside (workflow input `from`, an old checkpoint); default: any JSON value. */
  parseCursor?(value: unknown): C | null;
  close?(): Promise<void>;
}

export interface SourceContext {
  /** Resolves `${NAME}` references in an option from the worker's environment (secrets stay out of history). */
  env(value: string, field: string): string;
}

/** What a custom source module exports (default export, or `source`): options from the config → a source. */
export type SourceFactory = (options: Record<string, unknown>, ctx: SourceContext) => Promise<Source | SimpleSource> | Source | SimpleSource;

/** Identity, for type inference in a source module: `export default defineSource((options, ctx) => ({ … }))`. */
export function defineSource(factory: SourceFactory): SourceFactory {
  return factory;
}

function isFullSource(s: Source | SimpleSource): s is Source {
  return typeof (s as Source).pages === 'function' && typeof (s as Source).prepare === 'function';
}

/** Values as PostgreSQL text: JSON for objects, ISO for dates, null stays null. */
export function toPgText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A custom source broke its contract (a cursor that does not move, records without the declared columns). */
export class SourceContractError extends PermanentError {
  override readonly name = 'SourceContractError';
}

/** Consecutive pages a simple source may return with one cursor (a stateful source re-reading one instant) before it counts as stuck. */
const SAME_CURSOR_PAGES = 5;
/** Cursors remembered to tell a cursor moving backwards: the most recent ones (memory stays flat over any run). */
const SEEN_CURSORS = 10_000;

/** Adapts a SimpleSource to the Source contract (built-in sources implement Source directly). */
export function asSource(kind: string, s: Source | SimpleSource, module?: string): Source {
  checkShape(kind, s, module);
  if (isFullSource(s)) return s;
  const columns: ColumnSpec[] = s.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull ?? false }));
  return {
    kind,
    prepare: async (_opts: PrepareOptions): Promise<SourcePlan> => ({ columns, highWater: null, describe: `${kind} source` }),
    parseCursor: (v: unknown) => {
      if (!s.parseCursor) return (v ?? null) as Cursor;
      try {
        return s.parseCursor(v);
      } catch (err) {
        // A bad cursor never gets better on retry: fail the run at once.
        throw new InvalidCursorError(v, `a cursor ${kind} accepts (${(err as Error).message})`);
      }
    },
    // Without an order of its own, the caller's first cursor (the durable checkpoint) wins when both are set.
    later: async (a: Cursor, b: Cursor) => (a === null || a === undefined ? b : a),
    async *pages(after: Cursor, opts: ReadOptions): AsyncGenerator<Page> {
      let cursor = after;
      // Recent cursors this run has passed: one that comes back after another (a cursor moved backwards) reads the
      // same records again and again, forever; so does one returned for page after page.
      const seen = new Set<string>([JSON.stringify(after ?? null)]);
      const warned = new Set<string>();
      let same = 0;
      for (;;) {
        const limit = opts.limit;
        const { records, cursor: next, done } = await s.read(cursor, limit, { signal: opts.signal });
        if (!records.length) return;
        if (next === null || next === undefined) throw new SourceContractError(`${kind} source: read() returned ${records.length} record(s) with a null cursor (null is the start: the next read would begin again); return the cursor of the last record`);
        const key = JSON.stringify(next);
        same = key === JSON.stringify(cursor ?? null) ? same + 1 : 0;
        if (same >= SAME_CURSOR_PAGES) throw new SourceContractError(`${kind} source: read() returned the cursor ${key} for ${same + 1} pages in a row: the cursor must move past the records it returns, or the run reads them forever`);
        if (same === 0 && seen.has(key)) throw new SourceContractError(`${kind} source: read() returned the cursor ${key}, which this run had passed already (after ${JSON.stringify(cursor)}): a cursor that moves backwards reads the same records forever`);
        seen.add(key);
        if (seen.size > SEEN_CURSORS) seen.delete(seen.values().next().value as string);
        cursor = next;
        const warnings = missingFields(kind, records, columns, warned);
        yield { rows: records.map((r) => columns.map((c) => toPgText(r[c.name]))), cursor, ...(warnings.length ? { warnings } : {}) };
        // The end: an empty page, `done`, or a short page that did not move the cursor (an API whose `since` is
        // inclusive answers the last records again, as it did when a short page ended the run).
        if (done === true || (same > 0 && records.length < limit)) return;
      }
    },
    close: async () => s.close?.(),
  };
}

/** What a source factory returned must be a source: else the run fails at once, saying what it got. */
function checkShape(kind: string, s: unknown, module?: string): asserts s is Source | SimpleSource {
  const named = `${kind} source${module ? ` (source.module ${module})` : ''}`;
  const o = s as Partial<SimpleSource> & Partial<Source>;
  const full = o && typeof o === 'object' && typeof o.pages === 'function' && typeof o.prepare === 'function';
  if (o && typeof o === 'object' && (full || (typeof o.read === 'function' && Array.isArray(o.columns)))) {
    const bad = full ? undefined : (o.columns as unknown[]).find((c) => typeof (c as { name?: unknown })?.name !== 'string' || typeof (c as { type?: unknown })?.type !== 'string');
    if (bad === undefined) return;
    throw new SourceContractError(`${named}: every entry of columns needs a name and a PostgreSQL type (strings), found ${JSON.stringify(bad)}`);
  }
  const found = o && typeof o === 'object' ? `an object with ${Object.keys(o).join(', ') || 'no keys'}` : JSON.stringify(s) ?? typeof s;
  throw new SourceContractError(`${named}: its factory must return { columns, read } (defineSource) or a Source with prepare() and pages(), found ${found}`);
}

/**
 * A declared column that no record of a page has as a key (a field named differently, `nme` for `name`) is written
 * as NULL in every row: said once per run in a warning that names the fields the records do carry (`status` and
 * `runs` show it). Not a failure: many APIs leave out fields that have no value, and a page may lack one entirely.
 */
function missingFields(kind: string, records: Array<Record<string, unknown>>, columns: ColumnSpec[], warned: Set<string>): string[] {
  const missing = columns.filter((c) => !warned.has(c.name) && !records.some((r) => r !== null && typeof r === 'object' && c.name in r)).map((c) => c.name);
  if (!missing.length) return [];
  for (const m of missing) warned.add(m);
  const declared = new Set(columns.map((c) => c.name));
  const carried = [...new Set(records.slice(0, 20).flatMap((r) => (r !== null && typeof r === 'object' ? Object.keys(r) : [])))].filter((k) => !declared.has(k));
  return [
    `${kind} source: no record of a page of ${records.length} has the field(s) ${missing.join(', ')} declared in columns, written as NULL${carried.length ? `; the records carry ${carried.slice(0, 10).join(', ')} instead (a misspelt name?)` : ''}: return every declared column in each record, null when it has no value`,
  ];
}
