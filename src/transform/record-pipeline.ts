import { mappingModuleOf, type Mapping, type RecordSchema } from '../config/transform-schema';
import { PermanentError } from '../errors';
import type { ColumnSpec } from '../sources/source';
import { compileRecordChecks } from './compile-rules';
import { SourceFields } from './expression-field';
import { FALLBACK } from './fast-expression';
import { compileFields, type MappedField } from './field-mapping';
import { ModuleMapper } from './module-mapper';

export type Row = (string | null)[];
export type SourceRecord = Record<string, string | null>;

export interface Rejected {
  record: SourceRecord;
  reason: string;
}

export class MappingError extends PermanentError {
  override readonly name = 'MappingError';
}

export interface PipelineOptions {
  /** Evaluate every expression with JSONata, never the compiled JS form (the benchmark's comparison). */
  jsonataOnly?: boolean;
}

type Mapped = Row[] | string;
export interface Processed {
  good: Row[];
  rejected: Rejected[];
}

function collect(out: Processed, mapped: Mapped, record: () => SourceRecord): void {
  if (typeof mapped === 'string') out.rejected.push({ record: record(), reason: mapped });
  else if (mapped.length === 1) out.good.push(mapped[0] as Row);
  else out.good.push(...mapped);
}

/**
 * Source rows → target rows: pick/rename fields (dot paths reach into JSON columns), transform them
 * (fixed transforms, JSONata expressions, or a mapping module), validate the result. Rows that fail
 * are returned as rejects with the reason and the source record (which is what a later
 * `dead-letters --retry` re-processes after a fix). Async because JSONata and modules may be.
 */
export class RecordPipeline {
  readonly columns: ColumnSpec[];
  private readonly source: SourceFields;
  private readonly fields?: MappedField[];
  private readonly module?: ModuleMapper;
  private readonly check?: ReturnType<typeof compileRecordChecks>;

  constructor(
    private readonly sourceColumns: readonly ColumnSpec[],
    mapping: Mapping | undefined,
    rules: RecordSchema | undefined,
    opts: PipelineOptions = {},
  ) {
    this.source = new SourceFields(sourceColumns);
    const modulePath = mappingModuleOf(mapping);
    if (modulePath) this.module = new ModuleMapper(modulePath, this.source);
    else this.fields = compileFields(this.source, mapping, (m) => new MappingError(m), opts);
    this.columns = this.module?.columns ?? (this.fields as MappedField[]).map((f) => f.column);
    for (const col of Object.keys(rules ?? {})) {
      if (!this.columns.some((c) => c.name === col)) throw new MappingError(`validate.${col}: no such target column (target columns: ${this.columns.map((c) => c.name).join(', ')})`);
    }
    if (rules) this.check = compileRecordChecks(rules, this.columns.map((c) => c.name));
  }

  /** Whether this pipeline changes anything (else the COPY fast path can skip it). */
  static needed(mapping: Mapping | undefined, rules: RecordSchema | undefined): boolean {
    return !!mapping || !!rules;
  }

  /** Whether the mapping reads JSON values by the source's column types (expressions, a module), not text. */
  static readsTypedValues(mapping: Mapping | undefined): boolean {
    if (!mapping) return false;
    if (mappingModuleOf(mapping)) return true;
    return Object.values(mapping).some((v) => (typeof v === 'string' ? v.startsWith('=') : v.expr !== undefined));
  }

  record(row: Row): SourceRecord {
    const r: SourceRecord = {};
    this.sourceColumns.forEach((c, i) => (r[c.name] = row[i] ?? null));
    return r;
  }

  /**
   * Maps a page. Async: a record the compiled JS forms hand back, an expression only JSONata
   * evaluates, or an async module function is awaited (the rest of the page runs synchronously).
   */
  processAsync(rows: readonly Row[]): Promise<Processed> {
    return this.processEach(rows, (row) => this.record(row));
  }

  /**
   * The synchronous form, for callers that cannot await: a record that needs JSONata or an async
   * module function fails the run (MappingError) instead of being mapped; use processAsync.
   */
  process(rows: readonly Row[]): Processed {
    const out: Processed = { good: [], rejected: [] };
    for (const row of rows) {
      const mapped = this.map(row);
      if (mapped instanceof Promise) {
        mapped.catch(() => undefined);
        throw new MappingError('this mapping needs asynchronous evaluation (an expression only JSONata evaluates, or an async mapping module): the caller must use RecordPipeline.processAsync');
      }
      collect(out, mapped, () => this.record(row));
    }
    return out;
  }

  /** Records by field name (dead letters): rejects keep the record as given. */
  processRecords(records: readonly SourceRecord[]): Promise<Processed> {
    const rows = records.map((r) => this.sourceColumns.map((c) => r[c.name] ?? null));
    return this.processEach(rows, (_, i) => records[i] as SourceRecord);
  }

  private async processEach(rows: readonly Row[], recordOf: (row: Row, i: number) => SourceRecord): Promise<Processed> {
    const out: Processed = { good: [], rejected: [] };
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      let mapped = this.map(row);
      if (mapped instanceof Promise) mapped = await mapped; // only records that need JSONata or an async module
      collect(out, mapped, () => recordOf(row, i));
    }
    return out;
  }

  /** Target rows of one source row, or the reason it is rejected. */
  private map(row: Row): Mapped | Promise<Mapped> {
    if (this.module) {
      const out = this.module.map(row);
      return out instanceof Promise ? out.then((o) => this.validated(o)) : this.validated(out);
    }
    const fields = this.fields as MappedField[];
    const out: Row = new Array<string | null>(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as MappedField;
      try {
        out[i] = f.sync(row);
      } catch (err) {
        if (err === FALLBACK) return this.mapSlowly(row, out, i);
        return `${f.column.name}: ${(err as Error).message}`;
      }
    }
    return this.validated([out]);
  }

  /** From field `from` on: JSONata evaluates the fields the compiled forms hand over. */
  private async mapSlowly(row: Row, out: Row, from: number): Promise<Mapped> {
    const fields = this.fields as MappedField[];
    const record = this.source.record(row);
    for (let i = from; i < fields.length; i++) {
      const f = fields[i] as MappedField;
      try {
        try {
          out[i] = f.sync(row);
        } catch (err) {
          if (err !== FALLBACK || !f.slow) throw err;
          out[i] = await f.slow(record);
        }
      } catch (err) {
        return `${f.column.name}: ${(err as Error).message}`;
      }
    }
    return this.validated([out]);
  }

  private validated(rows: Mapped): Mapped {
    if (typeof rows === 'string' || !this.check) return rows;
    for (const out of rows) {
      const problem = this.check(out);
      if (problem !== undefined) return problem;
    }
    return rows;
  }
}
