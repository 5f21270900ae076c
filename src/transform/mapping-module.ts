import { loadUserModule } from '../util/load-module';
import { modulePathFrom } from '../util/module-path';
import { PermanentError } from '../errors';
import { IDENT_RE } from '../config/identifiers';
import { PG_TYPE_RE } from '../config/transform-schema';
import type { ColumnSpec } from '../sources/source';
import type { MappingDefinition, MappingFunction } from './define-mapping';

export class MappingModuleError extends PermanentError {
  override readonly name = 'MappingModuleError';
}

/** `mapping.module`, loaded once per run: its function and target columns (name → PostgreSQL type). */
export function loadMappingModule(path: string, sourceColumns: readonly ColumnSpec[]): { map: MappingFunction; columns: ColumnSpec[] } {
  let mod: Record<string, unknown>;
  try {
    mod = loadUserModule(modulePathFrom(path));
  } catch (err) {
    throw new MappingModuleError(`mapping.module ${path} cannot be loaded: ${(err as Error).message}`);
  }
  const exported = (mod.default ?? mod.map ?? mod) as unknown;
  const def: MappingDefinition | undefined =
    typeof exported === 'function' ? { map: exported as MappingFunction } : exported && typeof (exported as MappingDefinition).map === 'function' ? (exported as MappingDefinition) : undefined;
  if (!def) {
    throw new MappingModuleError(`mapping.module ${path} must export a function (record) => record | record[] | null, or defineMapping({ columns, map }); found ${typeof exported}`);
  }
  const columns = def.columns
    ? Object.entries(def.columns).map(([name, type]) => {
        if (!IDENT_RE.test(name) || typeof type !== 'string' || !PG_TYPE_RE.test(type)) {
          throw new MappingModuleError(`mapping.module ${path}: columns.${name} must be a plain SQL identifier with a PostgreSQL type name (got ${JSON.stringify(type)})`);
        }
        return { name, type, notNull: false };
      })
    : sourceColumns.map((c) => ({ ...c, notNull: false }));
  if (!columns.length) throw new MappingModuleError(`mapping.module ${path}: defineMapping({ columns }) lists no columns`);
  return { map: def.map.bind(def), columns };
}
