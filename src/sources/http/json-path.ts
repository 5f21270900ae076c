/** Reads a dot path ("data", "meta.next_cursor", "customer.address.city") from parsed JSON; "." is the value itself. */
export function getPath(value: unknown, path: string): unknown {
  return compilePath(path)(value);
}

type Getter = (value: unknown) => unknown;

const compiled = new Map<string, Getter>();

/**
 * The reader of one dot path, built once: it runs for every field of every record (a page of 1,000
 * records with 11 columns is 11,000 reads), where splitting the path each time showed in profiles.
 */
export function compilePath(path: string): Getter {
  let get = compiled.get(path);
  if (get) return get;
  get = build(path);
  // Paths come from the config (and a handful of style defaults): a bounded set.
  if (compiled.size < 1_000) compiled.set(path, get);
  return get;
}

function build(path: string): Getter {
  if (path === '.') return (v) => v;
  const keys = path.split('.');
  const step = (v: unknown, key: string): unknown => (v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[key]);
  if (keys.length === 1) {
    const [k] = keys as [string];
    return (v) => step(v, k);
  }
  if (keys.length === 2) {
    const [k1, k2] = keys as [string, string];
    return (v) => step(step(v, k1), k2);
  }
  return (v) => {
    let x = v;
    for (const key of keys) x = step(x, key);
    return x;
  };
}
