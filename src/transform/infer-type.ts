import type jsonata from 'jsonata';

import type { Node } from './fast-expression';

const TEXT_FUNCTIONS = ['lowercase', 'uppercase', 'lower', 'upper', 'trim', 'string', 'substring', 'substringBefore', 'substringAfter', 'join', 'replace', 'pad', 'formatNumber', 'formatBase', 'base64encode', 'base64decode', 'encodeUrl', 'encodeUrlComponent', 'uuid'];
const NUMBER_FUNCTIONS = ['number', 'length', 'count', 'sum', 'max', 'min', 'average', 'round', 'floor', 'ceil', 'abs', 'power', 'sqrt', 'random', 'toMillis'];
const BOOLEAN_FUNCTIONS = ['exists', 'boolean', 'not', 'contains'];

/**
 * The target column type of an expression without `type:`, when tidemark creates the table: text
 * for text operations, numeric for arithmetic, boolean for comparisons, jsonb for object and array
 * constructors, timestamptz for $now(), a field's own source type; text when it cannot tell.
 */
export function inferType(ast: jsonata.ExprNode, sourceType: (field: string) => string | undefined): string {
  return infer(ast as unknown as Node, sourceType) ?? 'text';
}

function infer(n: Node, sourceType: (field: string) => string | undefined): string | undefined {
  const sub = (x: unknown) => infer(x as Node, sourceType);
  switch (n.type) {
    case 'string':
      return 'text';
    case 'number':
      return 'numeric';
    case 'value':
      return typeof n.value === 'boolean' ? 'boolean' : undefined;
    case 'path': {
      const steps = n.steps as Node[];
      const first = steps[0];
      if (steps.length === 1 && first?.type === 'name' && !first.stages && !first.predicate) return sourceType(String(first.value));
      return steps.at(-1)?.type === 'name' ? 'text' : undefined;
    }
    case 'binary':
      if (n.value === '&') return 'text';
      if (['+', '-', '*', '/', '%'].includes(n.value as string)) return 'numeric';
      if (['=', '!=', '<', '<=', '>', '>=', 'and', 'or', 'in'].includes(n.value as string)) return 'boolean';
      return undefined;
    case 'condition': {
      // A branch that is null (or missing) takes the other's type.
      const isNull = (x: unknown) => x === undefined || ((x as Node).type === 'value' && (x as Node).value === null);
      const t = isNull(n.then) ? undefined : sub(n.then);
      const e = isNull(n.else) ? undefined : sub(n.else);
      if (isNull(n.then)) return e;
      if (isNull(n.else)) return t;
      return t === e ? t : undefined;
    }
    case 'unary':
      return n.value === '-' ? 'numeric' : n.value === '{' || n.value === '[' ? 'jsonb' : undefined;
    case 'block': {
      const exprs = n.expressions as Node[];
      return exprs.length ? sub(exprs.at(-1)) : undefined;
    }
    case 'function': {
      const proc = n.procedure as Node;
      const name = proc.type === 'variable' ? String(proc.value) : '';
      if (name === 'now') return 'timestamp with time zone';
      if (TEXT_FUNCTIONS.includes(name)) return 'text';
      if (NUMBER_FUNCTIONS.includes(name)) return 'numeric';
      if (BOOLEAN_FUNCTIONS.includes(name)) return 'boolean';
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The source fields an expression reads at its top level (not inside paths' later steps or lambdas). */
export function fieldsOf(ast: jsonata.ExprNode): Array<{ name: string; position?: number }> {
  const out: Array<{ name: string; position?: number }> = [];
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    const n = node as Node;
    if (n.type === 'lambda') return;
    if (n.type === 'path') {
      const first = (n.steps as Node[])[0];
      if (first?.type === 'name') out.push({ name: String(first.value), position: first.position });
      else visit(first);
      return;
    }
    if (n.type === 'name') return void out.push({ name: String(n.value), position: n.position });
    for (const [k, v] of Object.entries(n)) if (k !== 'position') visit(v);
  };
  visit(ast as unknown as Node);
  return out;
}
