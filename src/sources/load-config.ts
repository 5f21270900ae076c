import { loadConfig as loadConfigFile, parseConfig as parseConfigValue, type Config } from '../config';
import { registeredSourceKinds } from './registry';

/**
 * The config loaders of the worker, the CLI, the testing kit and the public API: config's own loaders
 * with the source kinds registered in this process (registerSource) accepted as known kinds.
 */
export function loadConfig(file?: string, cwd?: string): Config {
  return loadConfigFile(file, cwd, { sourceKinds: registeredSourceKinds() });
}

export function parseConfig(raw: unknown, source = 'config'): Config {
  return parseConfigValue(raw, source, { sourceKinds: registeredSourceKinds() });
}
