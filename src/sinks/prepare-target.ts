import { createHash } from 'node:crypto';
import type pg from 'pg';
import { schemaChangesOf, type PostgresSinkConfig } from '../config/schema';
import { quoteIdent, quoteTable, type QualifiedName } from '../config/identifiers';
import { describeTable, TableNotFoundError } from '../sources/postgres/describe-table';
import type { ColumnSpec } from '../sources/source';
import { exactEqualityColumns } from './exact-equality';
import { replaceBlockers } from './replace-rows';
import { reconcileColumns } from './schema-drift';
import { keyIndexMissing } from './sink-setup-problem';
import { SinkSetupError } from './sink-errors';
import { requireTypesInTarget } from './target-types';
import type { KeyColumn } from './unchanged-rows';
import { createTableSql, JOIN_SETTINGS, underHashJoin, upsertFromStageSql } from './upsert-sql';

/** What a PostgresSink writes with, once its target is checked (and created, or its new columns added). */
export interface PreparedTarget {
  columns: string[];
  /** The session's staging table, quoted (in pg_temp). */
  stage: string;
  upsertSql: string;
  /** The same upsert without the rows equal to the target's (see upsertFromStageSql's skipUnchanged). */
  skipUnchangedSql: string;
  /** The columns as a COPY column list. */
  copyColumns: string;
  /** The key's columns for comparing pages as text (unchanged-rows.ts); undefined for an array-typed key. */
  textKey: KeyColumn[] | undefined;
  /** Why pages cannot be replaced (replace-rows.ts), or undefined when they can. */
  replaceBlocked: string | undefined;
  /** Why replaced pages cannot go ahead, or undefined. */
  aheadBlocked: string | undefined;
  /** Columns sink.schemaChanges: add_columns added to the target just now (rows written before hold NULL there). */
  added: ColumnSpec[];
  /** Columns new in the source since the last run that the target already had (added by hand): the same, unasked. */
  adopted: ColumnSpec[];
}

export interface PrepareOptions {
  /** The page's rows have one key each: the staging table needs no order column (DISTINCT ON keeps the last). */
  keyUniqueInPage?: boolean;
  /**
   * The run continues from a committed cursor (a sync, a resume, a retried attempt): the target must exist, since
   * a table created now would lack every row before that cursor. Its value says where the run starts.
   */
  continuesFrom?: string;
}

/**
 * A sink's setup, in its session: the target exists (or is created when `sink.create`), its columns match the
 * source's (or new ones are added, by `sink.schemaChanges`), the key is unique there, the session's staging
 * table is made, and the upsert statements and the replace blockers are worked out once for the run.
 */
export async function prepareTarget(
  client: pg.Client,
  cfg: PostgresSinkConfig,
  table: QualifiedName,
  integration: string | undefined,
  sourceColumns: readonly ColumnSpec[],
  opts: PrepareOptions = {},
): Promise<PreparedTarget> {
  const names = sourceColumns.map((c) => c.name);
  for (const [i, k] of cfg.key.entries()) {
    if (!names.includes(k)) throw new SinkSetupError(`sink.key[${i}]`, `column "${k}" is not among the source's columns (${names.join(', ')})`);
  }
  const target = quoteTable(table);
  let info = await describeTable(client, table, 'sink');
  if (!info) {
    if (!cfg.create) throw new TableNotFoundError(cfg.table, 'sink');
    if (opts.continuesFrom !== undefined) {
      // Found by an acceptance run: a dropped target came back empty and the sync went on from its checkpoint.
      const it = integration ?? '<id>';
      throw new SinkSetupError('sink.table', `${cfg.table} does not exist, but this run continues from a committed cursor (${opts.continuesFrom}): a table created now would lack every row before it. Restore the table, or run \`tidemark backfill ${it}\` to create and fill it from the start (\`--from '<cursor>'\` to start it at a cursor on purpose)`);
    }
    await requireTypesInTarget(client, sourceColumns, 'sink.create');
    await createTarget(client, table, target, sourceColumns, cfg.key);
    info = await describeTable(client, table, 'sink');
    if (!info) throw new TableNotFoundError(cfg.table, 'sink');
  }
  // Only a run (which knows its integration) changes the target's shape; repairs and retries never do.
  const mode = integration ? schemaChangesOf(cfg) : 'fail';
  const drift = { table, source: sourceColumns, target: info.columns, mode, integration } as const;
  const { added, adopted } = await reconcileColumns(client, drift);
  if (added.length) info = (await describeTable(client, table, 'sink')) ?? info;
  const missing = keyIndexMissing(info, cfg);
  if (missing) throw new SinkSetupError('sink.key', missing);
  const stage = quoteIdent(`tm_stage_${createHash('sha1').update(`${target}|${names.join(',')}`).digest('hex').slice(0, 12)}`);
  const cols = names.map(quoteIdent).join(', ');
  // The order within a page only matters when a key can repeat in it (DISTINCT ON keeps the last); the identity costs a nextval per row.
  const ordered = opts.keyUniqueInPage ? '' : `; ALTER TABLE pg_temp.${stage} ADD COLUMN tm_ord bigint GENERATED ALWAYS AS IDENTITY`;
  // The session's own staging table, in one round trip whose commit does not wait for the WAL flush: a crash
  // ends the session, and the table with it (each run starts with this).
  try {
    await client.query(`BEGIN; SET LOCAL synchronous_commit = off; DROP TABLE IF EXISTS pg_temp.${stage}; CREATE TEMP TABLE ${stage} ON COMMIT DELETE ROWS AS SELECT ${cols} FROM ${target} WITH NO DATA${ordered}; COMMIT`);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  const exact = await exactEqualityColumns(client, table, info.shape);
  const asText = new Set(names.filter((n) => !exact.has(n)));
  const upsertSql = upsertFromStageSql(target, `pg_temp.${stage}`, names, cfg.key, opts.keyUniqueInPage, asText);
  const skip = upsertFromStageSql(target, `pg_temp.${stage}`, names, cfg.key, opts.keyUniqueInPage, asText, true);
  const skipUnchangedSql = underHashJoin(skip, await joinSettings(client));
  const types = new Map(info.columns.map((c) => [c.name, c.type]));
  const key = cfg.key.map((name) => ({ name, index: names.indexOf(name), type: types.get(name) ?? '' }));
  // A plain table with inheritance children (INHERITS, not partitions): reading it reads the children too, so
  // comparing a page with "the target's rows" would drop a row equal to a child's, and a DELETE would reach them.
  const inherited = info.inheritedBy !== undefined;
  // An array-typed key would need a literal of arrays; a key whose = is looser than its text (citext, a
  // nondeterministic collation, numeric) would let two rows of one key in a page look like two keys, and a page
  // row be compared with another spelling's target row: such keys keep the staged comparison.
  const textKey = !inherited && key.every((k) => k.type && !k.type.endsWith(']') && exact.has(k.name)) ? key : undefined;
  const blockers =
    cfg.replacePages === false ? { replace: 'sink.replacePages is false' } : inherited ? { replace: 'it has inheritance children' } : textKey ? await replaceBlockers(client, table, names, cfg.key) : { replace: 'its key has an array type or compares loosely (citext, numeric, a nondeterministic collation)' };
  return { columns: names, stage, upsertSql, skipUnchangedSql: inherited ? upsertSql : skipUnchangedSql, copyColumns: cols, textKey, replaceBlocked: blockers.replace, aheadBlocked: blockers.replace ?? blockers.ahead, added, adopted };
}

/**
 * CREATE … IF NOT EXISTS is not safe against itself: shards of one backfill creating the same table at once can
 * fail on the catalog's unique indexes (pg_namespace, pg_type), and so can two integrations creating their targets in
 * one new schema (pg_namespace: an acceptance run). A session lock per schema makes them take turns;
 * the CREATEs run in their own transaction after it, which starts with a fresh catalog cache (taking an
 * advisory lock does not refresh it), so the second one sees what the first committed.
 */
async function createTarget(client: pg.Client, table: QualifiedName, target: string, columns: readonly ColumnSpec[], key: readonly string[]): Promise<void> {
  const lock = [`tidemark-create:${quoteIdent(table.schema)}`];
  await client.query('SELECT pg_advisory_lock(hashtext($1::text))', lock);
  try {
    // The schema only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when it is there
    // (acceptance L: a role owning its schema could not create a table in it: "permission denied for database").
    const missing = (await client.query<{ m: string }>('SELECT (to_regnamespace($1::text) IS NULL)::text AS m', [quoteIdent(table.schema)])).rows[0]?.m === 'true';
    await client.query(`${missing ? `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(table.schema)}; ` : ''}${createTableSql(target, columns, key)}`).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== '42501') throw err;
      const [user, db] = [client.user ?? '<role>', client.database ?? '<database>'];
      const grant = missing ? `GRANT CREATE ON DATABASE ${db} TO ${user}, or create schema ${table.schema} for it (CREATE SCHEMA ${quoteIdent(table.schema)} AUTHORIZATION ${user})` : `GRANT CREATE ON SCHEMA ${quoteIdent(table.schema)} TO ${user}`;
      throw new SinkSetupError('sink.create', `creating the target ${table.schema}.${table.name} as role ${user} was refused (${(err as Error).message}): ${grant}; or create the table yourself and give the role SELECT, INSERT and UPDATE on it (DELETE too for deletes and verify --delete)`);
    });
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1::text))', lock).catch(() => undefined);
  }
}

/** The session's join settings, which the skip-unchanged statement turns off for itself and then restores. */
async function joinSettings(client: pg.Client): Promise<Record<(typeof JOIN_SETTINGS)[number], string>> {
  // current_setting, not the pg_settings view: the view builds every setting's row (2 ms a run).
  const r = await client.query<{ name: (typeof JOIN_SETTINGS)[number]; setting: string }>('SELECT n AS name, current_setting(n) AS setting FROM unnest($1::text[]) n', [[...JOIN_SETTINGS]]);
  const current = { enable_nestloop: 'on', enable_mergejoin: 'on' };
  for (const row of r.rows) current[row.name] = row.setting;
  return current;
}
