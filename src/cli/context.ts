import type { Command } from 'commander';
import { getIntegration, stateDbUrlOf, type Config, type Integration } from '../config';
import { loadConfig } from '../load-config';
import { lazy } from './lazy';

/** The global --config option, wherever it was given (before or after the command name). */
export function configFile(cmd: Command): string | undefined {
  return (cmd.optsWithGlobals() as { config?: string }).config;
}

export function loadCliConfig(cmd: Command): Config {
  return loadConfig(configFile(cmd));
}

/** Instances named on the command line, resolved by preloadInstances before the command's action runs. */
const instances = new Map<string, Integration>();
/** Those not active (paused, needs_reauth): why a run of one would fail at its start. */
const inactive = new Map<string, string>();

/** Why a run of this instance cannot start (paused, needs new credentials), or undefined. */
export function inactiveInstance(id: string): string | undefined {
  return inactive.get(id);
}

/**
 * Resolves `<template>/<instance-id>` arguments (a read of the template's state database) before a command
 * runs (a preAction hook, see commands.ts), so loadIntegration stays synchronous for every command. Encrypted
 * secrets are decrypted into this process's environment only when TIDEMARK_ENCRYPTION_KEY is set here (for
 * the commands that read the source themselves: verify, checkpoint set).
 */
export async function preloadInstances(cmd: Command, ids: string[]): Promise<void> {
  const config = loadCliConfig(cmd);
  const { resolveIntegration, InstanceNotActiveError } = await lazy('../instances');
  for (const id of ids) {
    const r = await resolveIntegration(config, id, process.env, { inactive: true, decrypt: !!process.env.TIDEMARK_ENCRYPTION_KEY });
    for (const [k, v] of Object.entries(r.env)) if (process.env[k] === undefined) process.env[k] = v;
    instances.set(id, r.integration);
    if (r.instance && r.instance.status !== 'active') inactive.set(id, new InstanceNotActiveError(id, r.instance.status, r.instance.reason).message);
  }
}

/** Config and integration (or instance), validated before anything is started or written. */
export function loadIntegration(cmd: Command, id: string): { config: Config; integration: Integration } {
  const config = loadCliConfig(cmd);
  return { config, integration: instances.get(id) ?? getIntegration(config, id) };
}

/** The state database of an integration (its sink), for commands that read tidemark.* tables. */
export function stateUrl(integration: Integration): string {
  return stateDbUrlOf(integration);
}
