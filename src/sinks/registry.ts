import { loadUserModule } from '../util/load-module';
import { modulePathFrom } from '../util/module-path';
import { PermanentError } from '../errors';
import type { SinkFactory } from './define-sink';

export class SinkModuleError extends PermanentError {
  override readonly name = 'SinkModuleError';
}

const factories = new Map<string, SinkFactory>();

/** Registers a custom sink kind in this process (a worker you start from your own code). */
export function registerSink(kind: string, factory: SinkFactory): void {
  factories.set(kind, factory);
}

export function registeredSinkKinds(): string[] {
  return [...factories.keys()];
}

/** The factory of a kind: registered in code, or the module named by `sink.module` (absolute path). */
export function sinkFactory(kind: string, modulePath: string | undefined): SinkFactory {
  const registered = factories.get(kind);
  if (registered) return registered;
  if (!modulePath) throw new SinkModuleError(`sink kind "${kind}" is not registered in this worker and the config gives no sink.module to load it from: call registerSink("${kind}", …) before starting the worker, or set sink.module`);
  let mod: Record<string, unknown>;
  try {
    mod = loadUserModule(modulePathFrom(modulePath));
  } catch (err) {
    throw new SinkModuleError(`sink.module ${modulePath} (kind "${kind}") cannot be loaded: ${(err as Error).message}`);
  }
  const factory = (mod.default ?? mod.sink ?? mod) as unknown;
  if (typeof factory !== 'function') {
    throw new SinkModuleError(`sink.module ${modulePath} must export a sink factory (export default defineSink(…)), found ${typeof factory}`);
  }
  return factory as SinkFactory;
}
