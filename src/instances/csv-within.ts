/**
 * Where an instance's CSV file must resolve (source.within), when its template's path names the instance:
 * the path up to the segment that holds `${instance.id}` (else the last that holds `${instance.…}`), with the instance's values (`/uploads/${instance.id}/orders.csv`
 * → `/uploads/acme`; `/uploads/${instance.id}.csv` → that file itself). A tenant who can write to its own directory
 * then cannot link its file to another tenant's, or to the worker's environment (a security acceptance run).
 * Undefined when the template sets within itself, or its path names no instance.
 */
export function csvWithinOf(rawSource: unknown, substitute: (text: string) => string): string | undefined {
  const s = rawSource as { kind?: unknown; path?: unknown; within?: unknown } | undefined;
  if (!s || s.kind !== 'csv' || typeof s.path !== 'string' || s.within !== undefined) return undefined;
  const parts = s.path.split('/');
  // The segment that names this instance alone: ${instance.id}'s, else the last one a parameter shapes (a region
  // before the id would name a folder every tenant of that region shares: the review).
  const byId = parts.findIndex((p) => p.includes('${instance.id}'));
  const last = parts.map((p) => p.includes('${instance.')).lastIndexOf(true);
  const at = byId >= 0 ? byId : last;
  return at < 0 ? undefined : substitute(parts.slice(0, at + 1).join('/'));
}
