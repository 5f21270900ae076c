import type { KeyColumn } from './range-sql';

/** Types whose values keep their text when read as another of the same family (a target key made bigint for an integer source). */
const FAMILIES: RegExp[] = [/^(smallint|integer|bigint)$/, /^(text|character varying(\(\d+\))?)$/];

/**
 * Why the target's key values may not read back as the source's (its text cast to the source type: --delete
 * asks the source for each target key), or undefined when every key column has the same type on both sides or
 * types of one lossless family. `real` against `double precision` rounds, `char(n)` drops trailing spaces,
 * `numeric(p,s)` rounds to its scale: such a key would find no source row and its row would be deleted.
 */
export function lossyKeyTypes(source: readonly KeyColumn[], target: readonly KeyColumn[]): string | undefined {
  for (const [i, s] of source.entries()) {
    const t = target[i];
    if (!t || t.type === s.type || FAMILIES.some((f) => f.test(s.type) && f.test(t.type))) continue;
    return `key column "${s.name}" is ${s.type} in the source but ${t.type} in the target`;
  }
  return undefined;
}
