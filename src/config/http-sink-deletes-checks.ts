import type { z } from 'zod';
import type { HttpSinkConfig } from './http-sink-schema';
import { mappingModuleOf, type Mapping } from './transform-schema';

/**
 * The source column behind each of an HTTP sink's key fields. Reconciling deletes asks the source which
 * of the ledger's keys it still has, so each key field must be a source column passed through unchanged:
 * without a mapping, the field itself; with one, `field: column` or `{ from: column }` (no transform,
 * expression or type, which would make the ledger's values differ from the source's).
 */
export function keySourceColumns(key: readonly string[], mapping: Mapping | undefined): { columns: string[] } | { index: number; problem: string } {
  if (!mapping) return { columns: [...key] };
  if (mappingModuleOf(mapping)) return { index: 0, problem: 'cannot be traced to a source column through a mapping module: deletes need the key fields passed through unchanged (use a column mapping)' };
  const columns: string[] = [];
  for (const [index, k] of key.entries()) {
    const m = mapping[k];
    const from = typeof m === 'string' ? (m.startsWith('=') ? undefined : m) : m && m.from !== undefined && !m.transform && !m.type ? m.from : undefined;
    if (from === undefined || from.includes('.')) {
      return { index, problem: `field "${k}" must be a source column passed through unchanged (mapping ${k}: <column>) for deletes: the reconciliation looks its ledger values up in the source table` };
    }
    columns.push(from);
  }
  return { columns };
}

/** Config-load checks of sink.deletes that need the rest of the integration (its source and mapping). */
export function checkHttpSinkDeletes(it: { source: { kind: string }; sink: HttpSinkConfig; mapping?: Mapping; deletes?: unknown }, ctx: z.RefinementCtx): void {
  if (!it.sink.deletes) return;
  if (it.source.kind !== 'postgres') {
    ctx.addIssue({ code: 'custom', path: ['sink', 'deletes'], message: `records gone from the source are found by comparing the delivery ledger with a PostgreSQL table: needs source.kind postgres, not ${it.source.kind}` });
    return;
  }
  const r = keySourceColumns(it.sink.key, it.mapping);
  if ('problem' in r) ctx.addIssue({ code: 'custom', path: ['sink', 'key', r.index], message: r.problem });
}
