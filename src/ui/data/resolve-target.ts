import type { Config, Integration, Template } from '../../config';
import { readInstance, type InstanceRow } from '../../db/state/instances-read';
import { parseInstanceRef } from '../../instances/instance-id';
import { instantiate } from '../../instances/instantiate';
import { resolveIntegration } from '../../instances/resolve-integration';
import { templateStateUrl } from '../../instances/templates';
import type { StateDbs } from './state-dbs';

/** What a page's `:id` names: an integration of the config, or an instance with its row. */
export interface Target {
  it: Integration;
  instance?: { template: Template; row: InstanceRow };
}

/**
 * `/i/<id>`: a configured integration, or `<template>/<instance>` (the `/` URL-encoded) read from the
 * template's state database (one statement) and filled in without decrypting anything: pages show
 * `${…}` references, never values. Undefined when neither exists.
 */
export async function resolveTarget(config: Config, id: string, dbs: StateDbs): Promise<Target | undefined> {
  const plain = config.integrations.find((i) => i.id === id);
  if (plain) return { it: plain };
  const ref = parseInstanceRef(id);
  const template = ref && config.templates?.find((t) => t.id === ref.template);
  if (!ref || !template) return undefined;
  const row = await dbs.use(templateStateUrl(template, dbs.env), (db) => readInstance(db, ref.template, ref.instance), 1);
  if (!row) return undefined;
  return { it: instantiate(template, row, dbs.env, { decrypt: false }).integration, instance: { template, row } };
}

/**
 * The integration and environment an action on `id` runs with (dead-letter retries): an instance resolved
 * as the CLI's preloadInstances does (paused ones too; secrets decrypted only with TIDEMARK_ENCRYPTION_KEY).
 */
export async function resolveForAction(config: Config, id: string, dbs: StateDbs): Promise<{ it: Integration; env: NodeJS.ProcessEnv } | undefined> {
  const t = await resolveTarget(config, id, dbs);
  if (!t?.instance) return t && { it: t.it, env: dbs.env };
  const r = await resolveIntegration(config, t.it.id, dbs.env, { inactive: true, decrypt: !!dbs.env.TIDEMARK_ENCRYPTION_KEY });
  return { it: r.integration, env: r.env };
}
