import type { Config, Integration } from '../config/schema';
import { templateRefsIn } from '../config/env-refs';
import { isPostgresSink } from '../config/sink-schema';
import { parseInstanceRef } from '../instances/instance-id';

/**
 * Why `<id>`'s target table may hold rows another writer put there, or undefined. Deleting "rows the source no
 * longer has" compares one source with the whole table, so in a shared table it would delete the other writers'
 * rows: the instances of a template whose sink.table is the same for all of them (no `${instance.…}` in it) and
 * no sink.instanceColumn, or other integrations writing to the same table of the same database (as written).
 */
export function sharedTargetOf(config: Config, it: Integration): string | undefined {
  if (!isPostgresSink(it.sink) || it.sink.instanceColumn) return undefined;
  const { url, table } = it.sink;
  const ref = parseInstanceRef(it.id);
  const template = ref && config.templates?.find((t) => t.id === ref.template);
  const rawSink = template?.raw.sink as { table?: unknown; instanceColumn?: unknown } | undefined;
  if (template && typeof rawSink?.table === 'string' && !templateRefsIn(rawSink.table).some((r) => r.scope === 'instance')) {
    return `every instance of template ${template.id} writes to ${table} (its sink.table names no instance parameter, and it has no sink.instanceColumn)`;
  }
  const others = config.integrations.filter((o) => o.id !== it.id && isPostgresSink(o.sink) && o.sink.url === url && o.sink.table === table).map((o) => o.id);
  for (const t of config.templates ?? []) {
    const s = t.raw.sink as { url?: unknown; table?: unknown } | undefined;
    if (t.id !== ref?.template && s?.url === url && s?.table === table) others.push(`the instances of template ${t.id}`);
  }
  return others.length ? `${others.join(', ')} also write${others.length === 1 && !others[0]?.startsWith('the instances') ? 's' : ''} to ${table}` : undefined;
}
