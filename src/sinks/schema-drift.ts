import type pg from 'pg';
import { quoteTable, type QualifiedName } from '../config/identifiers';
import { readSourceColumns, saveSourceColumns } from '../db/state/source-columns';
import type { ColumnSpec } from '../sources/source';
import { SchemaDriftError, type ColumnChange } from './sink-errors';
import { requireTypesInTarget } from './target-types';
import { addColumnSql } from './upsert-sql';

export interface DriftCheck {
  table: QualifiedName;
  /** The columns the source gives now (what the sink will write). */
  source: readonly ColumnSpec[];
  /** The target's columns now. */
  target: readonly ColumnSpec[];
  mode: 'fail' | 'add_columns';
  /** Whose last seen source columns to compare with (tidemark.source_columns); none: new columns only. */
  integration?: string;
}

/**
 * Follows the source's shape before any row is written: a new source column is added to the target
 * (add_columns) or named in an error (fail); a column dropped or retyped since the last run always
 * fails, since the target would silently stop being filled or start rejecting values. "Retyped" is
 * judged against the source's own previous type, not the target's (a target may hold a compatible
 * type on purpose); a change already mirrored in the target (same column dropped there, or altered
 * to the new type) is accepted. Returns the columns added to the target (none: it was not altered), and those new in
 * the source since the last run that the target had already (added by hand: acceptance L's DBA, after the run could
 * not alter a table it does not own); the rows written before hold whatever the target gave them, in both.
 */
export async function reconcileColumns(client: pg.Client, c: DriftCheck): Promise<{ added: ColumnSpec[]; adopted: ColumnSpec[] }> {
  await client.query('BEGIN');
  try {
    // Shards of one backfill prepare at once: one of them decides, the others then see its result.
    if (c.integration) await client.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.source_columns'), hashtext($1::text))`, [c.integration]);
    const seen = c.integration ? await readSourceColumns(client, c.integration) : undefined;
    const targetType = new Map(c.target.map((col) => [col.name, col.type]));
    const now = new Map(c.source.map((col) => [col.name, col]));
    const changes: ColumnChange[] = [];
    for (const old of seen ?? []) {
      const cur = now.get(old.name);
      if (!cur) {
        if (targetType.has(old.name)) changes.push({ column: old.name, change: 'dropped', was: old.type });
      } else if (!sameType(cur.type, old.type) && !sameType(targetType.get(old.name), cur.type)) {
        changes.push({ column: old.name, change: 'retyped', was: old.type, now: cur.type });
      }
    }
    const added = c.source.filter((col) => !targetType.has(col.name));
    const seenNames = new Set((seen ?? []).map((col) => col.name));
    const adopted = seen ? c.source.filter((col) => !seenNames.has(col.name) && targetType.has(col.name)) : [];
    if (c.mode === 'fail') changes.push(...added.map((col): ColumnChange => ({ column: col.name, change: 'added', now: col.type })));
    if (changes.length) throw new SchemaDriftError(`${c.table.schema}.${c.table.name}`, changes, fixes(c, changes));
    if (added.length) {
      await requireTypesInTarget(client, added, 'sink.schemaChanges');
      for (const col of added) await client.query(addColumnSql(quoteTable(c.table), col));
    }
    if (c.integration) await saveSourceColumns(client, c.integration, c.source);
    await client.query('COMMIT');
    return { added, adopted };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** format_type output is canonical; config-declared types may differ in spacing only. */
function sameType(a: string | undefined, b: string): boolean {
  return a !== undefined && a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
}

function fixes(c: DriftCheck, changes: readonly ColumnChange[]): string[] {
  const table = `${c.table.schema}.${c.table.name}`;
  const ack = c.integration ? `DELETE FROM tidemark.source_columns WHERE integration = '${c.integration.replace(/'/g, "''")}'` : '';
  const out: string[] = [];
  const added = changes.filter((x) => x.change === 'added');
  if (added.length) {
    const alter = added.map((x) => `ALTER TABLE ${table} ADD COLUMN "${x.column}" ${x.now}`).join('; ');
    out.push(`To copy new columns: add them to the target (${alter}), or set sink.schemaChanges: add_columns to let tidemark add them; to leave them out, list the columns to copy in source.columns.`);
  }
  for (const x of changes.filter((y) => y.change === 'dropped')) {
    out.push(
      `"${x.column}" would no longer be filled: restore it in the source; or, if it was removed on purpose (from the table, source.columns or mapping), ` +
        `drop it from the target too (ALTER TABLE ${table} DROP COLUMN "${x.column}")${ack ? ` or keep the target's old values and accept the new shape with ${ack}` : ''}.`,
    );
  }
  for (const x of changes.filter((y) => y.change === 'retyped')) {
    out.push(
      `Change the target column to the new type (ALTER TABLE ${table} ALTER COLUMN "${x.column}" TYPE ${x.now}) and the next run accepts it` +
        `${ack ? `; if the target's type already holds the new values, accept the change with ${ack}` : ''}.`,
    );
  }
  return out;
}
