import type jsonata from 'jsonata';
import { editDistance } from '../util/edit-distance';

/**
 * JSONata's own functions (jsonata 2.x; test/unit/jsonata-names.test.ts checks the list against the installed
 * library), and the helpers tidemark binds in mapping expressions (transform/expression-field.ts).
 */
export const JSONATA_FUNCTIONS: readonly string[] = [
  'sum', 'count', 'max', 'min', 'average', 'string', 'substring', 'substringBefore', 'substringAfter', 'lowercase', 'uppercase',
  'length', 'trim', 'pad', 'match', 'contains', 'replace', 'split', 'join', 'formatNumber', 'formatBase', 'formatInteger',
  'parseInteger', 'number', 'floor', 'ceil', 'round', 'abs', 'sqrt', 'power', 'random', 'boolean', 'not', 'map', 'zip', 'filter',
  'single', 'reduce', 'sift', 'keys', 'lookup', 'append', 'exists', 'spread', 'merge', 'reverse', 'each', 'error', 'assert', 'type',
  'sort', 'shuffle', 'distinct', 'base64encode', 'base64decode', 'encodeUrlComponent', 'encodeUrl', 'decodeUrlComponent', 'decodeUrl',
  'eval', 'toMillis', 'fromMillis', 'clone', 'now', 'millis',
];
export const MAPPING_HELPERS: readonly string[] = ['lower', 'upper'];

export interface NameUse {
  name: string;
  position: number | undefined;
}

/**
 * The `$name`s an expression uses that it does not bind itself (`$x := …`, lambda parameters, `#$i` and `@$o` on a
 * path step): read as values
 * (`variables`) or called (`functions`). `$` (the context) and `$$` (the root) are not names.
 */
export function freeNames(ast: jsonata.ExprNode): { variables: NameUse[]; functions: NameUse[] } {
  const variables: NameUse[] = [];
  const functions: NameUse[] = [];
  const bound = new Set<string>();
  const visit = (node: unknown, key?: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n));
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown> & { position?: number };
    if (n.type === 'variable' && typeof n.value === 'string' && n.value !== '' && n.value !== '$' && key !== 'bind') {
      (key === 'procedure' ? functions : variables).push({ name: n.value, position: n.position });
    }
    if (n.type === 'bind' && typeof (n.lhs as { value?: unknown })?.value === 'string') bound.add((n.lhs as { value: string }).value);
    if (n.type === 'lambda') for (const a of (n.arguments as { value: string }[]) ?? []) bound.add(a.value);
    // Positional (`items#$i`) and context (`Order@$o`) bindings: the name sits on the path step, not in a bind node.
    for (const k of ['index', 'focus'] as const) if (typeof n[k] === 'string') bound.add(n[k]);
    for (const [k, v] of Object.entries(n)) visit(v, n.type === 'bind' && k === 'lhs' ? 'bind' : k);
  };
  visit(ast);
  const free = (u: NameUse) => !bound.has(u.name);
  return { variables: variables.filter(free), functions: functions.filter(free) };
}

/** The known name closest to `name` (at most two edits away), for "did you mean". */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}
