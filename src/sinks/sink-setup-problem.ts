import type pg from 'pg';
import { resolvePgUrl } from '../config/pg-url';
import { splitTableName } from '../config/identifiers';
import { isPostgresSink, schemaChangesOf, type SinkConfig } from '../config/sink-schema';
import { connect } from '../pg/connect';
import { describeTable, TableNotFoundError, type TableInfo } from '../sources/postgres/describe-table';
import type { ColumnSpec } from '../sources/source';
import { SinkSetupError } from './sink-errors';
import { requireTypesInTarget } from './target-types';

/**
 * A PostgreSQL sink's setup, checked before a workflow starts (`sync`, `backfill`, `resume`), like the source's
 * (sourceSetupProblem): a target that is missing without `sink.create`, that has no unique index on `sink.key`, or
 * a type `declared` (declaredColumns) the run would create or add a column with that the sink database lacks.
 * Those the run would refuse for good, after a run row was written. Undefined when the target is fine, or when
 * the CLI cannot tell (no such variable here, no connection in time): the run then judges, as before.
 * The run checks more (columns against the source's, a dropped target it would recreate under a checkpoint).
 */
export async function sinkSetupProblem(cfg: SinkConfig, declared: readonly ColumnSpec[] = [], env: NodeJS.ProcessEnv = process.env, timeoutMs = 5_000): Promise<string | undefined> {
  if (!isPostgresSink(cfg)) return undefined;
  let client: pg.Client;
  try {
    client = await connect(resolvePgUrl(cfg.url, 'sink.url', env), { applicationName: 'tidemark-cli', connectTimeoutMs: timeoutMs });
  } catch {
    return undefined;
  }
  try {
    const info = await describeTable(client, splitTableName(cfg.table), 'sink');
    if (!info && !cfg.create) return new TableNotFoundError(cfg.table, 'sink').message;
    // Types the run would create or add the target's columns with: a misspelt one (bigintt) failed the run after it
    // started (an acceptance run). Those of columns the target already has are never used.
    const have = new Set(info?.columns.map((c) => c.name));
    const adds = info ? (schemaChangesOf(cfg) === 'add_columns' ? declared.filter((c) => !have.has(c.name)) : []) : declared;
    await requireTypesInTarget(client, adds, info ? 'sink.schemaChanges' : 'sink.create');
    const missing = info && keyIndexMissing(info, cfg);
    return missing ? `sink.key: ${missing}` : undefined;
  } catch (err) {
    return err instanceof SinkSetupError ? err.message : undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why a unique index on the key's columns does not count. */
const UNUSABLE = {
  partial: 'is partial: it is unique only among the rows its WHERE selects',
  invalid: 'is invalid, not enforced (a failed CREATE UNIQUE INDEX CONCURRENTLY): drop it and create it again',
  expression: 'is on an expression',
} as const;

/**
 * Why the target's unique indexes cannot serve the upsert on `sink.key` (ON CONFLICT (key) needs a plain, valid,
 * NOT DEFERRABLE unique index on exactly those columns, and refuses a DEFERRABLE one on them even beside it), with
 * the fix that works for this table; undefined when one serves it.
 */
export function keyIndexMissing(info: Pick<TableInfo, 'uniqueKeys' | 'keyNotes'>, cfg: { table: string; key: string[] }): string | undefined {
  const set = (k: string[]) => [...k].sort().join(',');
  const same = (k: string[]) => set(k) === set(cfg.key);
  const cols = cfg.key.join(', ');
  const served = info.uniqueKeys.some(same);
  const deferred = info.keyNotes?.deferrable.find((k) => same(k.columns));
  if (deferred) {
    const name = deferred.constraint ?? '<constraint>';
    const fix = served
      ? `drop it (ALTER TABLE ${cfg.table} DROP CONSTRAINT ${name}): the other unique index on (${cols}) serves the upsert`
      : `recreate it NOT DEFERRABLE (ALTER TABLE ${cfg.table} DROP CONSTRAINT ${name}, ADD CONSTRAINT ${name} ${deferred.primary ? 'PRIMARY KEY' : 'UNIQUE'} (${cols}))`;
    return `${cfg.table}'s ${deferred.primary ? 'primary key' : 'unique constraint'} ${name} on (${cols}) is DEFERRABLE, which the upsert (ON CONFLICT) cannot use, even beside another unique index on the same columns: ${fix}`;
  }
  if (served) return undefined;
  const missing = `${cfg.table} has no primary key or unique index on (${cols}), which the upsert needs`;
  const unusable = info.keyNotes?.unusable.find((k) => same(k.columns));
  const why = unusable ? ` (${unusable.index} ${UNUSABLE[unusable.why]})` : '';
  const part = info.keyNotes?.partitionKey?.filter((c) => !cfg.key.includes(c)) ?? [];
  if (part.length) {
    const wider = [...cfg.key, ...part].join(', ');
    return `${missing}${why}; a unique index of a partitioned table must include its partition key (${info.keyNotes?.partitionKey?.join(', ')}): set sink.key to [${wider}]${info.uniqueKeys.some((k) => set(k) === set([...cfg.key, ...part])) ? '' : ` and CREATE UNIQUE INDEX ON ${cfg.table} (${wider})`}`;
  }
  const narrower = info.uniqueKeys.find((k) => k.length < cfg.key.length && k.every((c) => cfg.key.includes(c)));
  if (narrower) return `${missing}${why}; it has one on (${narrower.join(', ')}), which makes these unique too: set sink.key to [${narrower.join(', ')}], or CREATE UNIQUE INDEX ON ${cfg.table} (${cols})`;
  return `${missing}${why}: CREATE UNIQUE INDEX ON ${cfg.table} (${cols})`;
}
