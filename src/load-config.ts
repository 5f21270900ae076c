import { loadConfig as loadConfigFile, parseConfig as parseConfigValue, type Config } from './config';
import { registeredSinkKinds } from './sinks/registry';
import { registeredSourceKinds } from './sources/registry';

/**
 * The config loaders of the worker, the CLI, the testing kit and the public API: config's own loaders
 * with the source and sink kinds registered in this process (registerSource, registerSink) accepted as
 * known kinds. (Config itself reads no registry: it sits below the runtime.)
 */
export function loadConfig(file?: string, cwd?: string): Config {
  return loadConfigFile(file, cwd, { sourceKinds: registeredSourceKinds(), sinkKinds: registeredSinkKinds() });
}

export function parseConfig(raw: unknown, source = 'config'): Config {
  return parseConfigValue(raw, source, { sourceKinds: registeredSourceKinds(), sinkKinds: registeredSinkKinds() });
}
