import type { Client } from '@temporalio/client';
import type { Config, Template } from '../config/schema';
import { temporalSettings } from '../config/temporal-env';
import { closeQuietly } from '../pg/connect';
import { openStateSession } from '../db/state-session';
import { clashingInstance, withInstancesLock } from '../db/state/instances-clash';
import { insertInstance } from '../db/state/instances-insert';
import { readInstance, type InstanceRow, type StoredSecret } from '../db/state/instances-read';
import { ensureInstanceSchedule, type InstanceScheduleOutcome, type ScheduledTemplate } from '../schedules/instance-schedules';
import { ClashingInstanceIdError, DuplicateInstanceError, InstanceParamsError, InvalidInstanceIdError, InvalidWeightError, WeightDiffersError } from './errors';
import { checkWeight, instanceWeight } from './instance-weight';
import { ID_PART, instanceRef } from './instance-id';
import { instanceProblems, instantiate } from './instantiate';
import { SecretCipher, secretAad } from './secret-cipher';
import { withTemporal } from './temporal-client';
import { getTemplate, templateStateUrl } from './templates';

/** A secret given to an instance: the name of a variable of the workers' environment, or the value itself (stored encrypted). */
export type InstanceSecretInput = { env: string } | { value: string };

export interface InstanceOptions {
  config: Config;
  template: string;
  instance: string;
  /** Temporal client for the instance's schedule; without it, one is connected from `env` and closed. */
  client?: Client;
  /** Where ${NAME} of the template's sink url, TIDEMARK_ENCRYPTION_KEY and TEMPORAL_* are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Task queue of the scheduled runs (default TIDEMARK_TASK_QUEUE or "tidemark"). */
  taskQueue?: string;
}

export interface AddInstanceOptions extends InstanceOptions {
  params?: Record<string, string>;
  secrets?: Record<string, InstanceSecretInput>;
  /** Task-queue fairness weight of its runs (0 < w ≤ 1000); without it the template's `fairnessWeight`, else 1. */
  weight?: number;
}

export interface AddInstanceResult {
  /** `<template>/<instance-id>`: what `sync`, `status`, `runs`… take. */
  id: string;
  /** `unchanged`: the instance existed with the same parameters and secrets (adding is idempotent). */
  outcome: 'added' | 'unchanged';
  schedule?: { outcome: InstanceScheduleOutcome; scheduleId: string; detail: string };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Adds an instance of a template: checks everything first (template, id, parameters and secrets against the
 * template's references, the resolved integration), then stores the row in the template's state database
 * and creates its Temporal Schedule from the template's `schedule`. Idempotent.
 */
export async function addInstance(opts: AddInstanceOptions): Promise<AddInstanceResult> {
  const env = opts.env ?? process.env;
  const t = getTemplate(opts.config, opts.template);
  if (!ID_PART.test(opts.instance)) throw new InvalidInstanceIdError(opts.instance);
  const id = instanceRef(t.id, opts.instance);
  const params = opts.params ?? {};
  const given = opts.secrets ?? {};
  const problems = [...instanceProblems(t, params, given), ...inputProblems(params, given)];
  if (problems.length) throw new InstanceParamsError(id, problems);
  if (opts.weight !== undefined && !checkWeight(opts.weight)) throw new InvalidWeightError(id, opts.weight);
  const needsKey = Object.values(given).some((s) => 'value' in s);
  const cipher = needsKey ? SecretCipher.fromEnv(env, `secrets given by value are stored encrypted`) : undefined;
  const secrets: Record<string, StoredSecret> = Object.fromEntries(
    Object.entries(given).map(([name, s]) => [name, 'env' in s ? { env: s.env } : cipher!.encrypt(s.value, secretAad(t.id, opts.instance, name))]),
  );
  instantiate(t, { instanceId: opts.instance, params, secrets }, env, { decrypt: false }); // bad values fail here, naming the field
  const run = async (client?: Client): Promise<AddInstanceResult> => {
    const db = await openStateSession(templateStateUrl(t, env), { applicationName: 'tidemark-instances' });
    let row: InstanceRow | undefined;
    let outcome: AddInstanceResult['outcome'] = 'added';
    try {
      const inserted = await withInstancesLock(db, t.id, async () => {
        const other = await clashingInstance(db, t.id, opts.instance);
        if (other) throw new ClashingInstanceIdError(id, instanceRef(t.id, other));
        return insertInstance(db, { template: t.id, instanceId: opts.instance, params, secrets, weight: opts.weight ?? null });
      });
      if (!inserted) {
        row = await readInstance(db, t.id, opts.instance);
        if (!row || !sameInstance(row, params, given, cipher, t)) throw new DuplicateInstanceError(id);
        if (opts.weight !== undefined && row.weight !== opts.weight) throw new WeightDiffersError(id, row.weight, opts.weight);
        outcome = 'unchanged';
      }
    } finally {
      await closeQuietly(db);
    }
    if (!client || !t.schedule) return { id, outcome };
    const paused = row && row.status !== 'active' ? { note: `instance ${row.status}${row.reason ? `: ${row.reason}` : ''}` } : undefined;
    const taskQueue = opts.taskQueue ?? temporalSettings(env).taskQueue;
    return { id, outcome, schedule: await ensureInstanceSchedule(client, t as ScheduledTemplate, id, opts.instance, taskQueue, paused, instanceWeight(t, row ?? { weight: opts.weight ?? null })) };
  };
  // Temporal is reached before the row is written: an unreachable server writes nothing.
  return t.schedule ? withTemporal(opts.client, env, run) : run();
}

function inputProblems(params: Record<string, string>, secrets: Record<string, InstanceSecretInput>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    // A value is pasted into the template's strings: it must not smuggle in a reference to the worker's environment.
    if (typeof v !== 'string' || v === '' || v.includes('${') || [...v].some((c) => c.charCodeAt(0) < 0x20)) problems.push(`parameter ${k}: must be non-empty text without "\${" or control characters`);
  }
  for (const [k, s] of Object.entries(secrets)) {
    if ('env' in s && !ENV_NAME.test(s.env)) problems.push(`secret ${k}: ${JSON.stringify(s.env)} is not an environment variable name`);
    if ('value' in s && (typeof s.value !== 'string' || s.value === '')) problems.push(`secret ${k}: the value is empty`);
  }
  return problems;
}

function sameInstance(row: InstanceRow, params: Record<string, string>, secrets: Record<string, InstanceSecretInput>, cipher: SecretCipher | undefined, t: Template): boolean {
  const sorted = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  if (sorted(row.params) !== sorted(params)) return false;
  const names = new Set([...Object.keys(row.secrets), ...Object.keys(secrets)]);
  for (const name of names) {
    const have = row.secrets[name];
    const want = secrets[name];
    if (!have || !want) return false;
    if ('env' in want ? !('env' in have) || have.env !== want.env : !('encrypted' in have) || !cipher || cipher.decrypt(have, secretAad(t.id, row.instanceId, name)) !== want.value) return false;
  }
  return true;
}
