import type pg from 'pg';
import { getIntegration, type Config } from '../config';
import { closeQuietly } from '../pg/connect';
import { openStateSession } from '../db/state-session';
import { readInstance, type InstanceRow } from '../db/state/instances-read';
import { InstanceNotActiveError, UnknownInstanceError } from './errors';
import { parseInstanceRef } from './instance-id';
import { instantiate, type Instantiated } from './instantiate';
import { getTemplate, templateStateUrl } from './templates';

export interface Resolved extends Instantiated {
  /** The instance's row, when the id names an instance. */
  instance?: InstanceRow;
}

export interface ResolveOptions {
  /** Resolve a paused (or needs_reauth) instance too: for commands that only look (status, runs). */
  inactive?: boolean;
  /** false: leave encrypted secrets unresolved (no key needed). */
  decrypt?: boolean;
  /** An open state session to read the instance with; otherwise one is opened and closed. */
  db?: pg.Client;
}

/**
 * The one way from an id to a concrete integration: a plain id is an entry of the config; `<template>/<id>`
 * is the template filled with the instance's row from the template's state database, read when asked (so
 * workers and the CLI see instances added a moment ago, without a restart).
 */
export async function resolveIntegration(config: Config, id: string, env: NodeJS.ProcessEnv = process.env, opts: ResolveOptions = {}): Promise<Resolved> {
  const ref = parseInstanceRef(id);
  if (!ref) return { integration: getIntegration(config, id), env };
  const t = getTemplate(config, ref.template);
  const db = opts.db ?? (await openStateSession(templateStateUrl(t, env), { applicationName: 'tidemark-instance' }));
  try {
    const row = await readInstance(db, ref.template, ref.instance);
    if (!row) throw new UnknownInstanceError(id);
    if (row.status !== 'active' && !opts.inactive) throw new InstanceNotActiveError(id, row.status, row.reason);
    return { ...instantiate(t, row, env, { decrypt: opts.decrypt ?? true }), instance: row };
  } finally {
    if (!opts.db) await closeQuietly(db);
  }
}
