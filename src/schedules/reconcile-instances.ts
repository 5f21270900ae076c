import type { Client } from '@temporalio/client';
import type { Config, Template } from '../config/schema';
import { closeQuietly } from '../pg/connect';
import { openStateSession } from '../db/state-session';
import { listInstanceRows } from '../db/state/instances-list';
import { readInstance, type InstanceRow } from '../db/state/instances-read';
import { instanceRef } from '../instances/instance-id';
import { instanceWeight } from '../instances/instance-weight';
import { templateStateUrl } from '../instances/templates';
import { deleteInstanceSchedule, ensureInstanceSchedule, type ScheduledTemplate } from './instance-schedules';
import type { ApplyReport } from './apply-schedules';

export interface ReconcileOptions {
  taskQueue: string;
  env?: NodeJS.ProcessEnv;
  /** Also delete schedules of instances whose template left the config or has no schedule any more. */
  prune?: boolean;
  onReport?: (report: ApplyReport) => void;
}

/** Every instance of the config's templates, read from each template's state database. */
export async function instancesOf(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Array<{ template: Template; row: InstanceRow }>> {
  const byUrl = new Map<string, Template[]>();
  for (const t of config.templates ?? []) {
    const url = templateStateUrl(t, env);
    byUrl.set(url, [...(byUrl.get(url) ?? []), t]);
  }
  const out: Array<{ template: Template; row: InstanceRow }> = [];
  for (const [url, templates] of byUrl) {
    const db = await openStateSession(url, { applicationName: 'tidemark-instances' });
    try {
      for (const row of await listInstanceRows(db, templates.map((t) => t.id))) out.push({ template: templates.find((t) => t.id === row.template)!, row });
    } finally {
      await closeQuietly(db);
    }
  }
  return out;
}

/**
 * Makes Temporal's instance schedules match tidemark.instances: creates the missing ones (paused for a
 * paused instance), updates those whose template schedule or fairness weight changed, deletes those whose instance is gone.
 * Schedules of templates that left the config (or lost `schedule`) are reported, and deleted with `prune`.
 */
export async function reconcileInstances(client: Client, config: Config, opts: ReconcileOptions): Promise<ApplyReport[]> {
  const reports: ApplyReport[] = [];
  const add = (r: ApplyReport) => {
    reports.push(r);
    opts.onReport?.(r);
  };
  const wanted = new Set<string>();
  for (const { template, row } of await instancesOf(config, opts.env)) {
    if (!template.schedule) continue;
    const id = instanceRef(template.id, row.instanceId);
    wanted.add(id);
    const paused = row.status === 'active' ? undefined : { note: `instance ${row.status}${row.reason ? `: ${row.reason}` : ''}` };
    const r = await ensureInstanceSchedule(client, template as ScheduledTemplate, id, row.instanceId, opts.taskQueue, paused, instanceWeight(template, row));
    add({ integration: id, scheduleId: r.scheduleId, outcome: r.outcome, detail: r.detail });
  }
  const templates = new Map((config.templates ?? []).map((t) => [t.id, t]));
  for await (const s of client.schedule.list()) {
    const memo = s.memo ?? {};
    if (memo.tidemark !== true || typeof memo.instance !== 'string') continue;
    const id = String(memo.integration);
    if (wanted.has(id)) continue;
    const t = templates.get(String(memo.template));
    // Its template is here and has a schedule: the instance row is gone, so is its schedule.
    const gone = !!t?.schedule;
    const why = !t ? 'its template is not in the config' : !t.schedule ? 'its template has no schedule any more' : 'the instance was removed';
    if (!gone && !opts.prune) {
      add({ integration: id, scheduleId: s.scheduleId, outcome: 'orphaned', detail: `${why}; \`tidemark instances reconcile --prune\` deletes it` });
      continue;
    }
    // Added since the rows were read (the listing lags): keep it.
    if (gone && t && (await instanceExists(t, String(memo.instance), opts.env))) continue;
    if (await deleteInstanceSchedule(client, id)) add({ integration: id, scheduleId: s.scheduleId, outcome: 'deleted', detail: `${why} (runs in progress go on)` });
  }
  return reports;
}

async function instanceExists(t: Template, instance: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const db = await openStateSession(templateStateUrl(t, env), { applicationName: 'tidemark-instances' });
  try {
    return (await readInstance(db, t.id, instance)) !== undefined;
  } finally {
    await closeQuietly(db);
  }
}
