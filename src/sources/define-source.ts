import { InvalidCursorError, type Cursor } from '../cursor/cursor';
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
  read(after: C | null, limit: number, ctx: { signal?: AbortSignal }): Promise<{ records: Array<Record<string, unknown>>; cursor: C | null }>;
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

/** Adapts a SimpleSource to the Source contract (built-in sources implement Source directly). */
export function asSource(kind: string, s: Source | SimpleSource): Source {
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
      for (;;) {
        const limit = opts.limit; // read once: a live retune must not make a full page look like the last one
        const { records, cursor: next } = await s.read(cursor, limit, { signal: opts.signal });
        if (!records.length) return;
        cursor = next;
        yield { rows: records.map((r) => columns.map((c) => toPgText(r[c.name]))), cursor };
        if (records.length < limit) return;
      }
    },
    close: async () => s.close?.(),
  };
}
