import type pg from 'pg';
import type { QualifiedName } from '../config/identifiers';
import { absentKeysSql, insertDoomedSql, keyPageSql } from './key-sql';
import type { Bound, KeyColumn, TargetScope } from './range-sql';

export interface KeySides {
  srcTable: QualifiedName;
  dstTable: QualifiedName;
  /** key columns with the source's types */
  srcKey: KeyColumn[];
  /** the same columns with the target's types */
  dstKey: KeyColumn[];
  /** an instance's rows in a target shared by instances: target-side statements see only these */
  dstScope?: TargetScope;
}

export interface MissingKeys {
  /** target rows of the range whose key the source does not have */
  rows: number;
  /** the first of them, as text, up to the requested number */
  samples: string[][];
}

/**
 * Pages through one range's target keys (bounded memory: one page at a time) and asks the source which of
 * them it no longer has. The target is read before the source, so a key seen in the target and then not
 * in the source really was deleted there. With `list`, the missing keys go into the session's
 * tidemark_doomed table for deleteListed.
 */
export async function findMissingKeys(
  src: pg.Client,
  dst: pg.Client,
  sides: KeySides,
  range: { lo: Bound; hi: Bound },
  opts: { pageSize: number; samples: number; list: boolean; check?: () => void },
): Promise<MissingKeys> {
  const found: MissingKeys = { rows: 0, samples: [] };
  let after: string[] | undefined;
  for (;;) {
    const text = keyPageSql(sides.dstTable, sides.dstKey, range.lo, range.hi, after !== undefined, sides.dstScope);
    const keys = (await dst.query<string[]>({ text, values: [...(after ?? []), opts.pageSize], rowMode: 'array' })).rows;
    if (!keys.length) break;
    const columns = sides.srcKey.map((_, i) => keys.map((k) => k[i]));
    const absent = (await src.query<string[]>({ text: absentKeysSql(sides.srcTable, sides.srcKey), values: columns, rowMode: 'array' })).rows.map(
      (r) => keys[Number(r[0]) - 1] as string[],
    );
    if (absent.length) {
      found.rows += absent.length;
      found.samples.push(...absent.slice(0, Math.max(0, opts.samples - found.samples.length)));
      if (opts.list) await dst.query(insertDoomedSql(sides.dstKey.length), sides.dstKey.map((_, i) => absent.map((a) => a[i])));
    }
    opts.check?.();
    if (keys.length < opts.pageSize) break;
    after = keys[keys.length - 1];
  }
  return found;
}
