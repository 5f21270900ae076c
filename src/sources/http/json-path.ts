/** Reads a dot path ("data", "meta.next_cursor", "customer.address.city") from parsed JSON; "." is the value itself. */
export function getPath(value: unknown, path: string): unknown {
  if (path === '.') return value;
  let v = value;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
