import { PermanentError } from '../errors';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, issuesFromZod } from './errors';
import { type Config, type Integration, configSchemaWith, isCsvSource } from './schema';

export const DEFAULT_CONFIG_FILES = ['tidemark.yaml', 'tidemark.yml', 'tidemark.json'];

/** Finds the config file: the given one, else tidemark.yaml, then tidemark.json, in the working directory. */
export function findConfigFile(file?: string, cwd = process.cwd()): string {
  if (file) {
    const p = resolve(cwd, file);
    if (!existsSync(p)) throw new ConfigError(file, [{ path: '', message: `file not found: ${p}` }]);
    return p;
  }
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  throw new ConfigError('tidemark.yaml', [
    { path: '', message: `no config file: create tidemark.yaml (or tidemark.json) in ${cwd}, or pass --config FILE` },
  ]);
}

export interface ParseOptions {
  /** Source kinds registered in code in this process (src/sources/registry); others need source.module. */
  sourceKinds?: readonly string[];
}

export function parseConfigText(text: string, source: string, opts: ParseOptions = {}): Config {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(source, [{ path: '', message: `not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}` }]);
  }
  return parseConfig(raw, source, opts);
}

export function parseConfig(raw: unknown, source = 'config', opts: ParseOptions = {}): Config {
  const result = configSchemaWith(opts.sourceKinds).safeParse(raw);
  if (!result.success) throw new ConfigError(source, issuesFromZod(result.error));
  return result.data;
}

export function loadConfig(file?: string, cwd?: string, opts: ParseOptions = {}): Config {
  const path = findConfigFile(file, cwd);
  const config = parseConfigText(readFileSync(path, 'utf8'), path, opts);
  // A custom source's module is named relative to the config file; workers get the absolute path.
  for (const it of config.integrations) {
    const mod = (it.source as { module?: string }).module;
    if (mod && !isAbsolute(mod)) (it.source as { module?: string }).module = resolve(dirname(path), mod);
    // A CSV source's file too, unless the path starts with a ${NAME} reference (resolved in the worker).
    if (isCsvSource(it.source) && !isAbsolute(it.source.path) && !it.source.path.startsWith('${')) it.source.path = resolve(dirname(path), it.source.path);
  }
  return config;
}

export class UnknownIntegrationError extends PermanentError {
  override readonly name = 'UnknownIntegrationError';
  constructor(
    readonly integration: string,
    readonly known: string[],
  ) {
    super(`unknown integration "${integration}": the config defines ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'none'}`);
  }
}

export function getIntegration(config: Config, id: string): Integration {
  const found = config.integrations.find((i) => i.id === id);
  if (!found) throw new UnknownIntegrationError(id, config.integrations.map((i) => i.id));
  return found;
}
