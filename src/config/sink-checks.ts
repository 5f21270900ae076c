import type { z } from 'zod';
import { checkHttpSinkDeletes } from './http-sink-deletes-checks';
import { fieldsRead } from './jsonata-fields';
import { isHttpSink, isPostgresSink, type SinkConfig } from './sink-schema';
import { mappingModuleOf, type Mapping } from './transform-schema';

/**
 * Integration-level checks that need both the sink and the rest of the entry, made when the config loads
 * (the sink's prepare repeats what depends on the source's columns at run start).
 */
export function checkSinkAgainstIntegration(it: { source: { kind: string }; sink: SinkConfig; mapping?: Mapping; deletes?: unknown }, ctx: z.RefinementCtx): void {
  if (!isPostgresSink(it.sink) && it.deletes !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['deletes'],
      message: isHttpSink(it.sink)
        ? 'with an HTTP sink, deletes go under sink.deletes ({ reconcileEvery, maxFraction?, path? }): the reconciliation compares the delivery ledger with the source'
        : `deletes are reconciled between two PostgreSQL tables: with sink.kind ${it.sink.kind} records gone from the source are not propagated; remove deletes`,
    });
  }
  if (isHttpSink(it.sink)) checkHttpSinkDeletes({ ...it, sink: it.sink }, ctx);
  checkInstanceColumn(it, ctx);
  if (!isHttpSink(it.sink) || !it.mapping || mappingModuleOf(it.mapping)) return;
  // With a column mapping, the mapped records have exactly the mapping's targets.
  const targets = Object.keys(it.mapping);
  for (const [i, k] of it.sink.key.entries()) {
    if (!targets.includes(k)) ctx.addIssue({ code: 'custom', path: ['sink', 'key', i], message: `field "${k}" is not produced by the mapping (it produces ${targets.join(', ')}): the key names the record at the API` });
  }
  const bulk = it.sink.bulk !== 'per-record';
  for (const name of ['path', 'body'] as const) {
    const text = it.sink[name];
    if (text === undefined) continue;
    let read: string[];
    try {
      read = fieldsRead(text, bulk);
    } catch {
      continue; // a syntax error is reported by the field itself
    }
    const unknown = read.filter((f) => !targets.includes(f));
    if (unknown.length) ctx.addIssue({ code: 'custom', path: ['sink', name], message: `reads ${unknown.map((f) => `"${f}"`).join(', ')}, which the mapping does not produce (it produces ${targets.join(', ')}): fix the template or the mapping` });
  }
}

/**
 * A template's `sink.instanceColumn` must not be a column its records already have: the instance id would take its
 * place. Where the columns are in the config (a mapping's targets, an API's columns, a table source's `columns`)
 * that is known when the config loads (an acceptance run found it only when a run started); else the run's prepare
 * finds it.
 */
function checkInstanceColumn(it: { source: { kind: string }; sink: SinkConfig; mapping?: Mapping }, ctx: z.RefinementCtx): void {
  if (!isPostgresSink(it.sink) || !it.sink.instanceColumn) return;
  const column = it.sink.instanceColumn;
  const source = it.source as { kind: string; columns?: unknown };
  const [declared, where] =
    it.mapping && !mappingModuleOf(it.mapping)
      ? [Object.keys(it.mapping), 'the mapping makes']
      : !it.mapping && Array.isArray(source.columns)
        ? [source.columns.map((c: unknown) => (typeof c === 'string' ? c : (c as { name?: unknown } | null)?.name)), 'the source has']
        : [[], ''];
  if (declared.includes(column)) {
    ctx.addIssue({ code: 'custom', path: ['sink', 'instanceColumn'], message: `"${column}" is also a column ${where}: the instance id would take its place; name the instance column otherwise (e.g. "tenant_id")` });
  }
}
