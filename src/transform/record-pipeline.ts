import type { Mapping, RecordSchema } from '../config/transform-schema';
import { PermanentError } from '../errors';
import type { ColumnSpec } from '../sources/source';
import { compileRecordSchema, describeIssues } from './compile-rules';

export type Row = (string | null)[];
export type SourceRecord = Record<string, string | null>;

export interface Rejected {
  record: SourceRecord;
  reason: string;
}

export class MappingError extends PermanentError {
  override readonly name = 'MappingError';
}

interface Field {
  column: ColumnSpec;
  get: (record: SourceRecord) => unknown;
  transform?: 'lower' | 'upper' | 'trim' | 'json' | 'text';
}

/**
 * Source rows → target rows: pick/rename fields (dot paths reach into JSON columns), transform them,
 * validate the result. Rows that fail are returned as rejects with the reason and the source record
 * (which is what a later `dead-letters --retry` re-processes after a fix).
 */
export class RecordPipeline {
  readonly columns: ColumnSpec[];
  private readonly fields: Field[];
  private readonly schema?: ReturnType<typeof compileRecordSchema>;

  constructor(
    private readonly sourceColumns: readonly ColumnSpec[],
    mapping: Mapping | undefined,
    rules: RecordSchema | undefined,
  ) {
    const byName = new Map(sourceColumns.map((c) => [c.name, c]));
    const entries = mapping ? Object.entries(mapping) : sourceColumns.map((c) => [c.name, c.name] as const);
    this.fields = entries.map(([name, spec]) => {
      const { from, transform, type } = typeof spec === 'string' ? { from: spec, transform: undefined, type: undefined } : spec;
      const [head, ...path] = from.split('.');
      const src = byName.get(head as string);
      if (!src) throw new MappingError(`mapping.${name}: source field "${head}" does not exist (source columns: ${[...byName.keys()].join(', ')})`);
      const colType = type ?? (transform === 'json' ? 'jsonb' : path.length ? 'text' : src.type);
      return { column: { name, type: colType, notNull: false }, get: path.length ? jsonPath(head as string, path) : (r: SourceRecord) => r[head as string], transform };
    });
    this.columns = this.fields.map((f) => f.column);
    for (const col of Object.keys(rules ?? {})) {
      if (!this.columns.some((c) => c.name === col)) throw new MappingError(`validate.${col}: no such target column (target columns: ${this.columns.map((c) => c.name).join(', ')})`);
    }
    if (rules) this.schema = compileRecordSchema(rules);
  }

  /** Whether this pipeline changes anything (else the COPY fast path can skip it). */
  static needed(mapping: Mapping | undefined, rules: RecordSchema | undefined): boolean {
    return !!mapping || !!rules;
  }

  record(row: Row): SourceRecord {
    const r: SourceRecord = {};
    this.sourceColumns.forEach((c, i) => (r[c.name] = row[i] ?? null));
    return r;
  }

  process(rows: readonly Row[]): { good: Row[]; rejected: Rejected[] } {
    return this.processRecords(rows.map((row) => this.record(row)));
  }

  processRecords(records: readonly SourceRecord[]): { good: Row[]; rejected: Rejected[] } {
    const good: Row[] = [];
    const rejected: Rejected[] = [];
    for (const record of records) {
      const out: Row = [];
      let reason: string | undefined;
      for (const f of this.fields) {
        try {
          out.push(applyTransform(f.get(record), f.transform));
        } catch (err) {
          reason = `${f.column.name}: ${(err as Error).message}`;
          break;
        }
      }
      if (!reason && this.schema) {
        const mapped = Object.fromEntries(this.columns.map((c, i) => [c.name, out[i] ?? null]));
        const res = this.schema.safeParse(mapped);
        if (!res.success) reason = describeIssues(res.error);
      }
      if (reason) rejected.push({ record, reason });
      else good.push(out);
    }
    return { good, rejected };
  }
}

function jsonPath(column: string, path: string[]) {
  return (r: SourceRecord): unknown => {
    const raw = r[column];
    if (raw === null || raw === undefined) return null;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new Error(`${column} is not JSON, so ${[column, ...path].join('.')} cannot be read`);
    }
    for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    return v ?? null;
  };
}

function applyTransform(v: unknown, t: Field['transform']): string | null {
  if (v === null || v === undefined) return null;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  switch (t) {
    case 'lower':
      return text.toLowerCase();
    case 'upper':
      return text.toUpperCase();
    case 'trim':
      return text.trim();
    case 'json':
      if (typeof v === 'string') {
        try {
          JSON.parse(v);
        } catch {
          throw new Error(`is not valid JSON (got ${JSON.stringify(v.slice(0, 40))})`);
        }
      }
      return text;
    default:
      return text;
  }
}
