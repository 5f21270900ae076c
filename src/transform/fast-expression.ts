import type jsonata from 'jsonata';

/** A JSONata AST node (its typings omit 'path' and the fields of several node types). */
export interface Node {
  type: string;
  value?: unknown;
  position?: number;
  [key: string]: unknown;
}
/** A compiled expression over one source row (its text values, decoded by the field readers). */
export type Fast = (row: readonly (string | null)[]) => unknown;
/** The reader of a source field by name: its decoded value in a row. */
export type FieldReader = (name: string) => Fast;

/**
 * Thrown by a compiled expression when a record takes it where plain JS would not mirror JSONata
 * exactly (arrays, objects joined as text, a non-number in arithmetic, an error JSONata reports):
 * that record is evaluated by JSONata itself, so results and error messages are JSONata's.
 */
export const FALLBACK = Symbol('jsonata-fallback');
const fallback = (): never => {
  throw FALLBACK;
};

/** JSONata's $string of a scalar (15 significant digits for fractions); anything else falls back. */
function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(Number.isInteger(v) ? v : Number(v.toPrecision(15))) : fallback();
  if (typeof v === 'boolean' || v === null) return JSON.stringify(v);
  return fallback();
}

/** JSONata's effective boolean value, arrays excepted (they fall back). */
function bool(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v) || typeof v !== 'object') return fallback();
  return Object.keys(v).length > 0;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback());
const checked = (v: number): number => (Number.isFinite(v) ? v : fallback());
const scalar = (v: unknown): unknown => (v !== null && typeof v === 'object' ? fallback() : v);

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
};
const ORDER: Record<string, (a: string | number, b: string | number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

const TRIM = (s: string) => s.replace(/[ \t\n\r]+/gm, ' ').replace(/^ /, '').replace(/ $/, '');
const text1 = (f: (s: string) => unknown) => (v: unknown) => (v === undefined ? undefined : typeof v === 'string' ? f(v) : fallback());

const lowercase = text1((s) => s.toLowerCase());
const uppercase = text1((s) => s.toUpperCase());
const keepNull = (f: (v: unknown) => unknown) => (v: unknown) => (v === null ? null : f(v));

/** Functions of one argument compiled to JS, mirroring JSONata's (and the bound helpers $lower/$upper: NULL stays NULL). */
const FUNCTIONS1: Record<string, (v: unknown) => unknown> = {
  lowercase,
  lower: keepNull(lowercase),
  uppercase,
  upper: keepNull(uppercase),
  trim: text1(TRIM),
  length: text1((s) => Array.from(s).length),
  string: (v) => (v === undefined ? undefined : str(v)),
  number: (v) =>
    v === undefined ? undefined : typeof v === 'number' ? num(v) : typeof v === 'string' && /^-?(0|([1-9][0-9]*))(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/.test(v) ? checked(Number(v)) : fallback(),
  exists: (v) => v !== undefined,
  boolean: (v) => (v === undefined ? undefined : bool(v)),
  not: (v) => (v === undefined ? undefined : !bool(v)),
};

// Thrown while compiling: a form this compiler does not mirror (JSONata evaluates the whole expression).
const UNSUPPORTED = Symbol('unsupported');
const unsupported = (): never => {
  throw UNSUPPORTED;
};
const PLAIN_KEYS = new Set(['type', 'value', 'position']);
const plain = (n: Node, extra: string[] = []) => Object.entries(n).every(([k, v]) => v === undefined || PLAIN_KEYS.has(k) || extra.includes(k)) || unsupported();

/** A plain-JS function for the common forms of mapping expressions, or undefined (JSONata evaluates it). */
export function compileFast(ast: jsonata.ExprNode, field: FieldReader): Fast | undefined {
  try {
    return new Builder(field).build(ast as unknown as Node);
  } catch (err) {
    if (err === UNSUPPORTED) return undefined;
    throw err;
  }
}


class Builder {
  constructor(private readonly field: FieldReader) {}

  build(n: Node): Fast {
    switch (n.type) {
      case 'string':
      case 'number':
      case 'value': {
        plain(n);
        const v = n.value as unknown;
        return () => v;
      }
      case 'path':
        return this.path(n);
      case 'binary':
        plain(n, ['lhs', 'rhs']);
        return binary(n.value as string, this.build(n.lhs as Node), this.build(n.rhs as Node));
      case 'condition': {
        plain(n, ['condition', 'then', 'else']);
        const c = this.build(n.condition as Node);
        const t = this.build(n.then as Node);
        const e = n.else ? this.build(n.else as Node) : () => undefined;
        return (row) => (bool(c(row)) ? t(row) : e(row));
      }
      case 'unary':
        return this.unary(n);
      case 'function':
        return this.call(n);
      default:
        return unsupported();
    }
  }

  private path(n: Node): Fast {
    plain(n, ['steps']);
    const names = (n.steps as Node[]).map((s) => (s.type === 'name' && plain(s) ? String(s.value) : unsupported()));
    const [head, ...rest] = names as [string, ...string[]];
    const read = this.field(head);
    return (row) => {
      let v = read(row);
      for (const key of rest) {
        if (Array.isArray(v)) fallback();
        v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
      }
      return Array.isArray(v) ? fallback() : v;
    };
  }

  private unary(n: Node): Fast {
    if (n.value === '-') {
      plain(n, ['expression']);
      const e = this.build(n.expression as Node);
      return (row) => {
        const v = e(row);
        return v === undefined ? undefined : -num(v);
      };
    }
    if (n.value !== '{') return unsupported();
    plain(n, ['lhs']);
    const pairs = (n.lhs as [Node, Node][]).map(([k, v]) => [k.type === 'string' && plain(k) ? String(k.value) : unsupported(), this.build(v)] as const);
    if (new Set(pairs.map(([k]) => k)).size !== pairs.length) unsupported(); // JSONata reports the duplicate
    return (row) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of pairs) {
        const v = f(row);
        if (v !== undefined) out[k] = v;
      }
      return out;
    };
  }

  private call(n: Node): Fast {
    plain(n, ['arguments', 'procedure']);
    const proc = n.procedure as Node;
    if (proc.type !== 'variable') unsupported();
    plain(proc);
    const args = (n.arguments as Node[]).map((a) => this.build(a));
    const name = String(proc.value);
    if (name === 'now' && args.length === 0) return () => new Date().toISOString();
    const f = FUNCTIONS1[name];
    const [arg] = args;
    if (!f || args.length !== 1 || !arg) return unsupported();
    return (row) => f(arg(row));
  }
}

function binary(op: string, l: Fast, r: Fast): Fast {
  const arith = ARITHMETIC[op];
  if (arith) {
    return (row) => {
      const a = l(row);
      const b = r(row);
      if ((a !== undefined && typeof a !== 'number') || (b !== undefined && typeof b !== 'number')) fallback();
      return a === undefined || b === undefined ? undefined : checked(arith(num(a), num(b)));
    };
  }
  const order = ORDER[op];
  if (order) {
    const ok = (x: unknown) => x === undefined || typeof x === 'string' || typeof x === 'number';
    return (row) => {
      const a = l(row);
      const b = r(row);
      if (!ok(a) || !ok(b)) fallback();
      if (a === undefined || b === undefined) return undefined;
      return typeof a === typeof b ? order(a as string, b as string) : fallback();
    };
  }
  switch (op) {
    case '&':
      return (row) => {
        const a = l(row);
        const b = r(row);
        return (a === undefined ? '' : str(a)) + (b === undefined ? '' : str(b));
      };
    case '=':
    case '!=': {
      const eq = op === '=';
      return (row) => {
        const a = scalar(l(row));
        const b = scalar(r(row));
        return a === undefined || b === undefined ? false : (a === b) === eq;
      };
    }
    case 'and':
      return (row) => bool(l(row)) && bool(r(row));
    case 'or':
      return (row) => bool(l(row)) || bool(r(row));
    default:
      return unsupported();
  }
}
