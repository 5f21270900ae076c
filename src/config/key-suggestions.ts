import { editDistance } from '../util/edit-distance';
import type { z } from 'zod';

/**
 * "Did you mean": the key sets of every object a config schema holds, found by walking it once (objects, unions,
 * wrappers, pipes, arrays, records, lazies), to match an unknown key to the one meant (`writerswait` →
 * `writersWait`). Walks zod's definitions (`_zod.def`), which the schemas expose; schemas behind a custom
 * transform are passed as roots of their own.
 */
export function schemaObjects(roots: readonly z.ZodType[]): Set<string>[] {
  const objects: Set<string>[] = [];
  const seen = new Set<unknown>();
  const walk = (s: unknown): void => {
    if (!s || typeof s !== 'object' || seen.has(s)) return;
    seen.add(s);
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return;
    if (def.type === 'object' && def.shape && typeof def.shape === 'object') {
      objects.push(new Set(Object.keys(def.shape)));
      for (const v of Object.values(def.shape as Record<string, unknown>)) walk(v);
    }
    if (def.type === 'lazy' && typeof def.getter === 'function') walk((def.getter as () => unknown)());
    for (const field of ['innerType', 'in', 'out', 'element', 'valueType', 'left', 'right', 'catchall']) walk(def[field]);
    if (Array.isArray(def.options)) for (const o of def.options) walk(o);
  };
  for (const r of roots) walk(r);
  return objects;
}

/**
 * The key meant by `unknown` in an object written with the other keys `siblings`: looked up among the schema
 * objects that know every sibling (so a key of another level is never offered). Undefined when none is close.
 */
export function suggestFor(unknown: string, siblings: readonly string[], objects: readonly Set<string>[]): string | undefined {
  if (!siblings.length) return undefined;
  const fits = objects.filter((o) => siblings.every((k) => o.has(k)));
  return suggestKey(unknown, fits.flatMap((o) => [...o]));
}

/** The known key `unknown` most likely means: the same but for case, `-`/`_`, or two edits away at most. */
export function suggestKey(unknown: string, known: Iterable<string>): string | undefined {
  const plain = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    if (plain(k) === plain(unknown)) return k;
    const d = Math.abs(k.length - unknown.length) > 3 ? 4 : editDistance(plain(k), plain(unknown));
    if (d <= (unknown.length >= 6 ? 2 : 1) && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}
