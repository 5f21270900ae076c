import jsonata from 'jsonata';
import type { ColumnSpec } from '../sources/source';
import { compileFast, type Fast } from './fast-expression';
import { fieldsOf, inferType } from './infer-type';
import { decoderFor, type Decode } from './record-values';

export type SourceRow = readonly (string | null)[];

/** Thrown for a mapping that cannot run against this source (an unknown field): no record is written. */
export type MappingProblem = (message: string) => Error;

/**
 * A mapping expression compiled once per run. `fast` is the plain-JS form when the expression has
 * one (see fast-expression.ts: it throws FALLBACK for records it does not mirror exactly); `slow`
 * evaluates it with JSONata over the record as JSON values.
 */
export interface CompiledExpression {
  type: string;
  fast?: Fast;
  slow(record: Record<string, unknown>): Promise<unknown>;
}

/** Readers of the source's fields: the decoded value of a field in a row (by the column's type). */
export class SourceFields {
  private readonly index = new Map<string, number>();
  readonly decoders: Decode[];

  constructor(readonly columns: readonly ColumnSpec[]) {
    columns.forEach((c, i) => this.index.set(c.name, i));
    this.decoders = columns.map((c) => decoderFor(c.type));
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  type(name: string): string | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.columns[i]?.type;
  }

  reader(name: string): Fast {
    const i = this.index.get(name);
    if (i === undefined) return () => undefined;
    const decode = this.decoders[i] as Decode;
    return (row) => {
      const v = row[i];
      return v === null || v === undefined ? null : decode(v);
    };
  }

  /** The row as a JSON record (for JSONata and mapping modules). */
  record(row: SourceRow): Record<string, unknown> {
    const r: Record<string, unknown> = {};
    for (let i = 0; i < this.columns.length; i++) {
      const v = row[i];
      r[(this.columns[i] as ColumnSpec).name] = v === null || v === undefined ? null : (this.decoders[i] as Decode)(v);
    }
    return r;
  }
}

/** $lower/$upper: $lowercase/$uppercase, except that NULL stays NULL (a NULL email is not a bad record). */
export function caseHelper(name: string, f: (s: string) => string): (v: unknown) => unknown {
  return (v) => {
    if (v === undefined || v === null) return v;
    if (typeof v !== 'string') throw new Error(`$${name} needs text, got ${JSON.stringify(v)}`);
    return f(v);
  };
}

/** Helpers bound in every mapping expression besides JSONata's own functions. */
export function bindHelpers(e: jsonata.Expression): void {
  e.registerFunction('lower', caseHelper('lower', (s) => s.toLowerCase()));
  e.registerFunction('upper', caseHelper('upper', (s) => s.toUpperCase()));
}

export function compileExpression(column: string, text: string, declaredType: string | undefined, fields: SourceFields, problem: MappingProblem, opts: { jsonataOnly?: boolean; offset?: number } = {}): CompiledExpression {
  const expr = jsonata(text); // syntax was checked when the config loaded
  bindHelpers(expr);
  const ast = expr.ast();
  for (const f of fieldsOf(ast)) {
    if (!fields.has(f.name)) {
      throw problem(`mapping.${column}: the expression reads source field "${f.name}"${f.position !== undefined ? ` (at character ${f.position + (opts.offset ?? 0)})` : ''}, which does not exist (source columns: ${fields.columns.map((c) => c.name).join(', ')})`);
    }
  }
  const fast = opts.jsonataOnly ? undefined : compileFast(ast, (name) => fields.reader(name));
  return {
    type: declaredType ?? inferType(ast, (name) => fields.type(name)),
    ...(fast ? { fast } : {}),
    slow: async (record) => (await expr.evaluate(record)) as unknown,
  };
}

/** "T2001: The left side of the + operator must evaluate to a number (at character 12)" */
export function describeEvaluationError(err: unknown): string {
  const e = err as { code?: string; message?: string; position?: number };
  return `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}${e.position !== undefined ? ` (at character ${e.position})` : ''}`;
}
