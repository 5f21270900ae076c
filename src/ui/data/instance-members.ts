import type { Config, Template } from '../../config';
import { cursorZoneOf } from '../../cursor/lag-time';
import { listInstanceRows } from '../../db/state/instances-list';
import type { InstanceStatus } from '../../db/state/instances-read';
import { instanceRef } from '../../instances/instance-id';
import { templateStateUrl } from '../../instances/templates';
import type { StateDbs } from './state-dbs';

/** An instance as the overview lists it: never its params or secrets (they stay on its own page, masked). */
export interface InstanceMember {
  id: string;
  template: Template;
  status: InstanceStatus;
  reason: string | null;
  /** The zone its naive cursor times are written in (the template's source.timeZone, filled in): see lagTime. */
  zone?: string | undefined;
}

/** Templates grouped by state database (their sink's), and those whose URL cannot be resolved here. */
export function templatesByDb(config: Config, env: NodeJS.ProcessEnv): { groups: Map<string, Template[]>; unreachable: Map<string, string> } {
  const groups = new Map<string, Template[]>();
  const unreachable = new Map<string, string>();
  for (const t of config.templates ?? []) {
    try {
      const url = templateStateUrl(t, env);
      groups.set(url, [...(groups.get(url) ?? []), t]);
    } catch (err) {
      unreachable.set(t.id, (err as Error).message);
    }
  }
  return { groups, unreachable };
}

/** Every instance of these templates (all in one state database): one statement, like `instances status`. */
export async function loadInstanceMembers(dbs: StateDbs, url: string, templates: readonly Template[]): Promise<InstanceMember[]> {
  const byId = new Map(templates.map((t) => [t.id, t]));
  const rows = await dbs.use(url, (db) => listInstanceRows(db, [...byId.keys()]), 1);
  return rows.map((r) => {
    const template = byId.get(r.template) as Template;
    return { id: instanceRef(r.template, r.instanceId), template, status: r.status, reason: r.reason, zone: cursorZoneOf(template.raw.source, r.params) };
  });
}
