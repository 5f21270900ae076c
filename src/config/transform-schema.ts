import { isAbsolute, resolve } from 'node:path';
import jsonata from 'jsonata';
import { z } from 'zod';
import { identifier } from './identifiers';
import { closestName, freeNames, JSONATA_FUNCTIONS, MAPPING_HELPERS, type NameUse } from './jsonata-names';

/**
 * Per-integration record mapping and validation. A mapping names each target column and where its
 * value comes from: a source field (dot paths reach into JSON objects) with an optional fixed
 * transform, or a JSONata expression over the source record (`{ expr }` or a string starting with
 * `=`); or `module: ./map.ts`, a function per record. A record schema declares rules per target
 * column, compiled to zod. Records that fail go to tidemark.dead_letters with the reason; the run goes on.
 */
export const fieldTransform = z.enum(['lower', 'upper', 'trim', 'json', 'text']);

export const PG_TYPE_RE = /^[a-z][a-z0-9 _(),]*$/i;
const pgType = z.string().regex(PG_TYPE_RE, 'must be a PostgreSQL type name');

/**
 * Syntax errors, and mistakes JSONata would only report per record, caught when the config loads.
 * Positions count in the config value as written (`offset`: its leading =).
 */
function expressionProblem(text: string, offset = 0): string | undefined {
  let ast: jsonata.ExprNode;
  try {
    ast = jsonata(text).ast();
  } catch (err) {
    const e = err as { message?: string; position?: number };
    return `is not a valid JSONata expression: ${e.message ?? String(err)}${e.position !== undefined ? ` (at character ${e.position + offset})` : ''}`;
  }
  let problem: string | undefined;
  const visit = (node: unknown): void => {
    if (problem || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    const n = node as { type: string; value?: unknown; position?: number; lhs?: { type: string }; rhs?: { type: string }; procedure?: { type: string; steps?: Array<{ value?: unknown }> } };
    const at = ` (at character ${(n.position ?? 0) + offset})`;
    if (n.type === 'binary' && n.value === '+' && [n.lhs, n.rhs].some((s) => s?.type === 'string')) {
      problem = `+ adds numbers in JSONata: join text with & (first_name & ' ' & last_name)${at}`;
    } else if (n.type === 'function' && n.procedure?.type === 'path') {
      const name = (n.procedure.steps?.[0]?.value as string | undefined) ?? 'f';
      problem = `${name}(…) is not a function: JSONata functions start with $ ($${name}(…); helpers: $lower, $upper, $trim, $now(), $string, $number)${at}`;
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'position') visit(v);
  };
  visit(ast);
  return problem ?? unknownName(ast, offset);
}

/** A `$name` the mapping does not know: mapping expressions get the record and no variables, only functions. */
function unknownName(ast: jsonata.ExprNode, offset: number): string | undefined {
  const known = [...JSONATA_FUNCTIONS, ...MAPPING_HELPERS];
  const { variables, functions } = freeNames(ast);
  const at = (u: NameUse) => (u.position !== undefined ? ` (at character ${u.position + offset})` : '');
  const fn = functions.find((u) => !known.includes(u.name));
  if (fn) {
    const near = closestName(fn.name, known);
    return `$${fn.name}(…) is not a function${near ? `: did you mean $${near}?` : ''} (JSONata's functions, and $lower / $upper, which keep NULL)${at(fn)}`;
  }
  const v = variables.find((u) => !known.includes(u.name));
  if (v) return `uses $${v.name}, which is not defined: a mapping expression reads the record's fields by name (${v.name}, not $${v.name}) and binds no variables${at(v)}`;
  return undefined;
}

const expression = z.string().min(1).superRefine((text, ctx) => {
  const problem = expressionProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `col: field`, or `col: "=<JSONata>"` (a leading = makes the rest an expression). */
const fieldOrExpression = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    if (!text.startsWith('=')) return;
    const problem = expressionProblem(text.slice(1), 1);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** `module: ./map.ts` (a path): a mapping function per record, instead of columns. */
export function mappingModuleOf(mapping: Mapping | undefined): string | undefined {
  const m = mapping?.module;
  return typeof m === 'string' && /^(\.{1,2}\/|\/)/.test(m) ? m : undefined;
}

/** Makes a relative `mapping.module` absolute against the config file's directory (as `source.module`). */
export function resolveMappingModule(mapping: Mapping | undefined, configDir: string): void {
  const m = mappingModuleOf(mapping);
  if (m && mapping && !isAbsolute(m)) mapping.module = resolve(configDir, m);
}

export const mappingSchema = z
  .record(
    identifier,
    z.union([
      fieldOrExpression,
      z
        .strictObject({ from: z.string().min(1).optional(), transform: fieldTransform.optional(), expr: expression.optional(), type: pgType.optional() })
        .superRefine((f, ctx) => {
          if ((f.from === undefined) === (f.expr === undefined)) ctx.addIssue({ code: 'custom', message: 'needs either from (a source field) or expr (a JSONata expression)' });
          else if (f.expr !== undefined && f.transform) ctx.addIssue({ code: 'custom', path: ['transform'], message: `applies to from only: write it in the expression ($lower(…), $upper(…), $trim(…), $string(…))` });
        }),
    ], { error: 'must be a source field, "=<JSONata expression>", { from, transform?, type? } or { expr, type? }' }),
  )
  .superRefine((m, ctx) => {
    if (mappingModuleOf(m) && Object.keys(m).length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['module'],
        message: `a mapping module maps whole records: list no columns beside it (found ${Object.keys(m).filter((k) => k !== 'module').join(', ')}); declare target columns in the module with defineMapping({ columns, map })`,
      });
    }
  });

export const fieldRuleSchema = z.strictObject({
  type: z.enum(['string', 'integer', 'number', 'boolean', 'timestamp', 'json']).optional(),
  required: z.boolean().default(false),
  min: z.number().optional(),
  max: z.number().optional(),
  maxLength: z.number().int().positive().optional(),
  pattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression')
    .optional(),
  enum: z.array(z.string()).min(1).optional(),
});

export const recordSchemaSchema = z.record(identifier, fieldRuleSchema);

export type Mapping = z.infer<typeof mappingSchema>;
export type MappingValue = Mapping[string];
export type FieldRule = z.infer<typeof fieldRuleSchema>;
export type RecordSchema = z.infer<typeof recordSchemaSchema>;
