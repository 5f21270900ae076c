import { ConfigError, issuesFromZod } from '../config/errors';
import { replaceTemplateRefs, secretEnvName } from '../config/env-refs';
import { integrationSchemaWith, type Integration, type Template } from '../config/schema';
import { mapStrings } from '../config/template-schema';
import type { InstanceRow } from '../db/state/instances-read';
import { InstanceParamsError } from './errors';
import { csvWithinOf } from './csv-within';
import { instanceRef } from './instance-id';
import { paramPlacementProblems } from './param-placement';
import { SecretCipher, secretAad } from './secret-cipher';

/** Variables the worker itself runs on: its encryption key, databases, Temporal connection, default OAuth seed. */
const WORKER_OWN = /^(TIDEMARK_|TEMPORAL_|PG[A-Z]+$)|^(DATABASE_URL|OAUTH_REFRESH_TOKEN)$/;

export interface Instantiated {
  /** The concrete integration, id `<template>/<instance-id>`. */
  integration: Integration;
  /**
   * The environment its `${NAME}` references resolve in: `env` itself, or a copy holding the instance's
   * decrypted secrets (only in this process's memory, never in process.env or Temporal).
   */
  env: NodeJS.ProcessEnv;
}

/** What an instance lacks or has too much of, against its template. */
export function instanceProblems(t: Template, params: Record<string, string>, secrets: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const missingParams = t.params.filter((p) => params[p] === undefined);
  const unknownParams = Object.keys(params).filter((p) => !t.params.includes(p));
  const missingSecrets = t.secrets.filter((s) => secrets[s] === undefined);
  const unknownSecrets = Object.keys(secrets).filter((s) => !t.secrets.includes(s));
  const list = (names: string[], flag: string) => names.map((n) => `${flag} ${n}=…`).join(' ');
  if (missingParams.length) problems.push(`missing parameter(s) ${missingParams.join(', ')}: template ${t.id} uses \${instance.${missingParams[0]}}; pass ${list(missingParams, '--param')}`);
  if (unknownParams.length) problems.push(`unknown parameter(s) ${unknownParams.join(', ')}: template ${t.id} uses ${t.params.length ? t.params.join(', ') : 'no parameters'}`);
  if (missingSecrets.length) problems.push(`missing secret(s) ${missingSecrets.join(', ')}: template ${t.id} uses \${secret.${missingSecrets[0]}}; pass ${list(missingSecrets, '--secret')} (an environment variable) or --secret-file ${missingSecrets[0]}=FILE`);
  if (unknownSecrets.length) problems.push(`unknown secret(s) ${unknownSecrets.join(', ')}: template ${t.id} uses ${t.secrets.length ? t.secrets.join(', ') : 'no secrets'}`);
  if (params.id !== undefined) problems.push('"id" is not a parameter: ${instance.id} is the instance id');
  problems.push(...paramPlacementProblems(t, params));
  // The worker's own keys and connections would go to a customer's API as its credential (a security acceptance
  // run); checked when an instance is added and again when it runs (a row stored before this check).
  for (const [k, s] of Object.entries(secrets)) {
    const env = (s as { env?: unknown } | null)?.env;
    if (typeof env === 'string' && WORKER_OWN.test(env)) problems.push(`secret ${k}: ${env} is tidemark's own setting, not a customer's secret: name the variable that holds this customer's credential, or use --secret-file ${k}=FILE`);
  }
  return problems;
}

/**
 * The concrete integration of one instance: the template's entry with `${instance.X}` replaced by the
 * parameters, `${secret.X}` by a `${NAME}` reference (the instance's variable, or the decrypted value's
 * place in the returned environment), then parsed like any integration, so a value that makes a bad field
 * (a table name with "-") fails here, naming it. `decrypt: false` leaves encrypted secrets unresolved (CLI
 * commands that do not read the source need no key).
 */
export function instantiate(t: Template, row: Pick<InstanceRow, 'instanceId' | 'params' | 'secrets'>, env: NodeJS.ProcessEnv, opts: { decrypt?: boolean } = {}): Instantiated {
  const id = instanceRef(t.id, row.instanceId);
  const problems = instanceProblems(t, row.params, row.secrets);
  if (problems.length) throw new InstanceParamsError(id, problems);
  const values: Record<string, string> = { ...row.params, id: row.instanceId };
  const secretVar = (name: string) => {
    const s = row.secrets[name] as InstanceRow['secrets'][string];
    return 'env' in s ? s.env : secretEnvName(name);
  };
  const substitute = (s: string) => replaceTemplateRefs(s, (kind, name) => (kind === 'instance' ? (values[name] as string) : `\${${secretVar(name)}}`));
  const raw = mapStrings(t.raw, substitute) as Record<string, unknown>;
  const within = csvWithinOf(t.raw.source, substitute);
  if (within !== undefined) raw.source = { ...(raw.source as object), within };
  const sink = raw.sink as { key?: unknown; instanceColumn?: unknown } | undefined;
  // A shared target: the instance column joins the key, so instances never overwrite each other's rows.
  if (sink && typeof sink.instanceColumn === 'string' && Array.isArray(sink.key)) sink.key = [sink.instanceColumn, ...sink.key];
  const parsed = integrationSchemaWith(t.sourceKinds, t.sinkKinds).safeParse(raw);
  if (!parsed.success) throw new ConfigError(`template ${t.id} with the values of instance ${id}`, issuesFromZod(parsed.error));
  const integration: Integration = { ...parsed.data, id };
  const encrypted = Object.entries(row.secrets).filter((e): e is [string, { encrypted: string; keyId: string }] => 'encrypted' in e[1]);
  if (!encrypted.length || opts.decrypt === false) return { integration, env };
  const cipher = SecretCipher.fromEnv(env, `instance ${id} has encrypted secrets (${encrypted.map(([n]) => n).join(', ')})`);
  const withSecrets: NodeJS.ProcessEnv = { ...env };
  for (const [name, ref] of encrypted) withSecrets[secretEnvName(name)] = cipher.decrypt(ref, secretAad(t.id, row.instanceId, name));
  return { integration, env: withSecrets };
}
