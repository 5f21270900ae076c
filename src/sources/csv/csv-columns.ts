import type { CsvSourceConfig } from '../../config/csv-source-schema';
import { IDENT_RE } from '../../config/identifiers';
import type { ColumnSpec } from '../source';
import { CsvHeaderError } from './csv-errors';
import { show, valueCheck, type ValueCheck } from './csv-value-check';

/** A target column and where its value is in a CSV record. */
export interface CsvColumn {
  index: number;
  spec: ColumnSpec;
  check?: ValueCheck;
}

/**
 * The header's names → the target columns: those listed under `columns` (others are dropped), or,
 * without `columns`, every column as text under its header name.
 */
export function planColumns(header: readonly string[], cfg: Pick<CsvSourceConfig, 'columns'>, path: string): CsvColumn[] {
  const list = `${header.slice(0, 20).map(show).join(', ')}${header.length > 20 ? `, … (${header.length} columns)` : ''}`;
  const indexOf = (name: string, field: string): number => {
    const i = header.indexOf(name);
    if (i === -1) throw new CsvHeaderError(`${field}: the header of ${path} has no column "${name}" (it has ${list})`);
    const again = header.indexOf(name, i + 1);
    if (again !== -1) throw new CsvHeaderError(`${field}: the header of ${path} names "${name}" twice (columns ${i + 1} and ${again + 1}): rename one in the file, or give header: [names]`);
    return i;
  };
  if (cfg.columns) {
    return Object.entries(cfg.columns).map(([name, spec]) => {
      const { name: target = name, type = 'text' } = typeof spec === 'string' ? { name: spec } : spec;
      return column(indexOf(name, `source.columns.${name}`), target, type);
    });
  }
  return header.map((name, i) => {
    if (!IDENT_RE.test(name)) {
      throw new CsvHeaderError(
        `source.header: column ${i + 1} of ${path} is ${show(name)}, which is not a plain SQL identifier: map the columns you want under source.columns, e.g. ${show(name)}: { name: ..., type: text }`,
      );
    }
    return column(indexOf(name, 'source.header'), name, 'text');
  });
}

function column(index: number, name: string, type: string): CsvColumn {
  const check = valueCheck(type);
  return { index, spec: { name, type, notNull: false }, ...(check ? { check } : {}) };
}
