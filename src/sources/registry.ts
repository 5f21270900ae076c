import { loadUserModule } from '../util/load-module';
import { modulePathFrom } from '../util/module-path';
import { PermanentError } from '../errors';
import type { SourceFactory } from './define-source';

export class SourceModuleError extends PermanentError {
  override readonly name = 'SourceModuleError';
}

const factories = new Map<string, SourceFactory>();

/** Registers a custom source kind in this process (a worker you start from your own code). */
export function registerSource(kind: string, factory: SourceFactory): void {
  factories.set(kind, factory);
}

export function registeredSourceKinds(): string[] {
  return [...factories.keys()];
}

/** The factory of a kind: registered in code, or the module named by `source.module` (absolute path). */
export function sourceFactory(kind: string, modulePath: string | undefined): SourceFactory {
  const registered = factories.get(kind);
  if (registered) return registered;
  if (!modulePath) throw new SourceModuleError(`source kind "${kind}" is not registered in this worker and the config gives no source.module to load it from`);
  let mod: Record<string, unknown>;
  try {
    mod = loadUserModule(modulePathFrom(modulePath));
  } catch (err) {
    throw new SourceModuleError(`source.module ${modulePath} (kind "${kind}") cannot be loaded: ${(err as Error).message}`);
  }
  const factory = (mod.default ?? mod.source ?? mod) as unknown;
  if (typeof factory !== 'function') {
    throw new SourceModuleError(`source.module ${modulePath} must export a source factory (export default defineSource(…)), found ${typeof factory}`);
  }
  return factory as SourceFactory;
}
