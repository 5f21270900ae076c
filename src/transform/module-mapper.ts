import { resolve } from 'node:path';
import type { ColumnSpec } from '../sources/source';
import type { MappingFunction, MappingOutput } from './define-mapping';
import type { SourceFields, SourceRow } from './expression-field';
import { loadMappingModule } from './mapping-module';
import { columnKind, type ColumnKind, toColumnText } from './record-values';

type Mapped = (string | null)[][] | string;

/**
 * `mapping.module`: the module's function per record (JSON values in, target rows out: one, several,
 * or none for null). A thrown error, a rejected promise, a column the target does not have or a value
 * its type cannot hold is the record's reason for dead letters.
 */
export class ModuleMapper {
  readonly columns: ColumnSpec[];
  private readonly fn: MappingFunction;
  private readonly index = new Map<string, number>();
  private readonly kinds: ColumnKind[];

  constructor(
    private readonly path: string,
    private readonly source: SourceFields,
  ) {
    // loadConfig makes it absolute against the config file; a config built in code names it from the working directory.
    const { map, columns } = loadMappingModule(resolve(path), source.columns);
    this.fn = map;
    this.columns = columns;
    columns.forEach((c, i) => this.index.set(c.name, i));
    this.kinds = columns.map((c) => columnKind(c.type));
  }

  map(row: SourceRow): Mapped | Promise<Mapped> {
    let out: MappingOutput | Promise<MappingOutput>;
    try {
      out = this.fn(this.source.record(row));
    } catch (err) {
      return `mapping.module threw: ${(err as Error)?.message ?? String(err)}`;
    }
    if (out instanceof Promise) return out.then((o) => this.rows(o), (err: unknown) => `mapping.module threw: ${(err as Error)?.message ?? String(err)}`);
    return this.rows(out);
  }

  private rows(out: MappingOutput): Mapped {
    if (out === null || out === undefined) return [];
    const list = Array.isArray(out) ? out : [out];
    const rows: (string | null)[][] = [];
    for (const item of list) {
      if (!item || typeof item !== 'object' || Array.isArray(item)) return `mapping.module returned ${JSON.stringify(item)}: expected an object of target columns, an array of them, or null`;
      const row = new Array<string | null>(this.columns.length).fill(null);
      for (const [key, value] of Object.entries(item)) {
        const i = this.index.get(key);
        if (i === undefined) return `mapping.module returned column "${key}", which the target does not have (columns: ${this.columns.map((c) => c.name).join(', ')}): declare it in defineMapping({ columns })`;
        const col = this.columns[i] as ColumnSpec;
        try {
          row[i] = toColumnText(value, this.kinds[i] as ColumnKind, col.type);
        } catch (err) {
          return `${key}: mapping.module ${(err as Error).message}`;
        }
      }
      rows.push(row);
    }
    return rows;
  }
}
