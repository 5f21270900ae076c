import type { Command } from 'commander';
import { getIntegration, resolveEnvRefs, type Config, type Integration } from '../config';
import { loadConfig } from '../sources/load-config';

/** The global --config option, wherever it was given (before or after the command name). */
export function configFile(cmd: Command): string | undefined {
  return (cmd.optsWithGlobals() as { config?: string }).config;
}

export function loadCliConfig(cmd: Command): Config {
  return loadConfig(configFile(cmd));
}

/** Config and integration, validated before anything is started or written. */
export function loadIntegration(cmd: Command, id: string): { config: Config; integration: Integration } {
  const config = loadCliConfig(cmd);
  return { config, integration: getIntegration(config, id) };
}

/** The state database of an integration (its sink), for commands that read tidemark.* tables. */
export function stateUrl(integration: Integration): string {
  return resolveEnvRefs(integration.sink.url, `integrations[${integration.id}].sink.url`);
}
