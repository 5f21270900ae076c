import type { Mapping } from '../config/transform-schema';
import type { ColumnSpec } from '../sources/source';
import { compileExpression, describeEvaluationError, type MappingProblem, type SourceFields, type SourceRow } from './expression-field';
import { FALLBACK } from './fast-expression';
import { columnKind, ResultTypeError, toColumnText } from './record-values';

/**
 * One target column of a mapping: `sync` computes its text from a source row; it throws FALLBACK
 * when only `slow` (JSONata, async) can, and any other error is the record's reason to be rejected.
 */
export interface MappedField {
  column: ColumnSpec;
  sync(row: SourceRow): string | null;
  slow?(record: Record<string, unknown>): Promise<string | null>;
}

export type FieldTransform = 'lower' | 'upper' | 'trim' | 'json' | 'text';

const needsJsonata = (): never => {
  throw FALLBACK;
};

/** The mapping's columns (or the source's, without one), compiled once per run. */
export function compileFields(fields: SourceFields, mapping: Mapping | undefined, problem: MappingProblem, opts: { jsonataOnly?: boolean } = {}): MappedField[] {
  const entries = mapping ? Object.entries(mapping) : fields.columns.map((c) => [c.name, c.name] as const);
  return entries.map(([name, spec]): MappedField => {
    const expr = typeof spec === 'string' ? (spec.startsWith('=') ? spec.slice(1) : undefined) : spec.expr;
    const type = typeof spec === 'string' ? undefined : spec.type;
    if (expr !== undefined) return expressionField(name, compileExpression(name, expr, type, fields, problem, { ...opts, offset: typeof spec === 'string' ? 1 : 0 }));
    const from = typeof spec === 'string' ? spec : (spec.from as string);
    const transform = typeof spec === 'string' ? undefined : spec.transform;
    const [head, ...path] = from.split('.') as [string, ...string[]];
    const src = fields.has(head) ? fields.type(head) : undefined;
    if (src === undefined) throw problem(`mapping.${name}: source field "${head}" does not exist (source columns: ${fields.columns.map((c) => c.name).join(', ')})`);
    const colType = type ?? (transform === 'json' ? 'jsonb' : path.length ? 'text' : src);
    const index = fields.columns.findIndex((c) => c.name === head);
    const get = path.length ? jsonPath(index, head, path) : (row: SourceRow) => row[index];
    return { column: { name, type: colType, notNull: false }, sync: (row) => applyTransform(get(row), transform) };
  });
}

function expressionField(name: string, e: ReturnType<typeof compileExpression>): MappedField {
  const kind = columnKind(e.type);
  const text = (v: unknown) => {
    try {
      return toColumnText(v, kind, e.type);
    } catch (err) {
      throw err instanceof ResultTypeError ? new Error(`the expression ${err.message}`) : err;
    }
  };
  const fast = e.fast;
  return {
    column: { name, type: e.type, notNull: false },
    sync: fast ? (row) => text(fast(row)) : needsJsonata,
    slow: async (record) => {
      let v: unknown;
      try {
        v = await e.slow(record);
      } catch (err) {
        throw new Error(`the expression failed: ${describeEvaluationError(err)}`, { cause: err });
      }
      return text(v);
    },
  };
}

function jsonPath(index: number, column: string, path: string[]) {
  return (row: SourceRow): unknown => {
    const raw = row[index];
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

function applyTransform(v: unknown, t: FieldTransform | undefined): string | null {
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
