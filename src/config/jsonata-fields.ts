import jsonata from 'jsonata';

/**
 * The record fields a JSONata expression reads where they can be known: the first name of each top-level
 * path (per record), and the name after $record / $records. Names inside a path's later steps or filters
 * are relative to nested values and are not checked. Used by config validation (against the mapping's
 * targets) and by the HTTP sink at run start (against the mapped records' fields).
 */
export function fieldsRead(text: string, bulk: boolean): string[] {
  const out = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; steps?: Array<{ type?: string; value?: unknown }> };
    if (n.type === 'path' && Array.isArray(n.steps)) {
      const [first, second] = n.steps;
      if (first?.type === 'name' && !bulk && typeof first.value === 'string') out.add(first.value);
      if (first?.type === 'variable' && (first.value === 'record' || first.value === 'records') && second?.type === 'name' && typeof second.value === 'string') out.add(second.value);
      visit(first); // a function call or block in the first step has paths of its own
      return;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(jsonata(text).ast());
  return [...out];
}
