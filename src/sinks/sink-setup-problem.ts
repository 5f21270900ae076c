import type pg from 'pg';
import { resolvePgUrl } from '../config/pg-url';
import { splitTableName } from '../config/identifiers';
import { isPostgresSink, type SinkConfig } from '../config/sink-schema';
import { connect } from '../pg/connect';
import { describeTable, TableNotFoundError, type TableInfo } from '../sources/postgres/describe-table';

/**
 * A PostgreSQL sink's setup, checked before a workflow starts (`sync`, `backfill`, `resume`), like the source's
 * (sourceSetupProblem): a target that is missing without `sink.create`, or that has no unique index on `sink.key`.
 * Those the run would refuse for good, after a run row was written. Undefined when the target is fine, or when
 * the CLI cannot tell (no such variable here, no connection in time): the run then judges, as before.
 * The run checks more (columns against the source's, a dropped target it would recreate under a checkpoint).
 */
export async function sinkSetupProblem(cfg: SinkConfig, env: NodeJS.ProcessEnv = process.env, timeoutMs = 5_000): Promise<string | undefined> {
  if (!isPostgresSink(cfg)) return undefined;
  let client: pg.Client;
  try {
    client = await connect(resolvePgUrl(cfg.url, 'sink.url', env), { applicationName: 'tidemark-cli', connectTimeoutMs: timeoutMs });
  } catch {
    return undefined;
  }
  try {
    const info = await describeTable(client, splitTableName(cfg.table), 'sink');
    if (!info) return cfg.create ? undefined : new TableNotFoundError(cfg.table, 'sink').message;
    const missing = keyIndexMissing(info, cfg);
    return missing && `sink.key: ${missing}`;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why the target's unique indexes cannot serve the upsert on `sink.key`, or undefined when one covers it exactly. */
export function keyIndexMissing(info: Pick<TableInfo, 'uniqueKeys' | 'deferrableKeys'>, cfg: { table: string; key: string[] }): string | undefined {
  const keySet = [...cfg.key].sort().join(',');
  const same = (k: string[]) => [...k].sort().join(',') === keySet;
  if (info.uniqueKeys.some(same)) return undefined;
  const deferred = info.deferrableKeys?.find((k) => same(k.columns));
  if (deferred) {
    return `${cfg.table}'s unique index on (${cfg.key.join(', ')}) is DEFERRABLE, which the upsert (ON CONFLICT) cannot use: make it NOT DEFERRABLE (ALTER TABLE ${cfg.table} ALTER CONSTRAINT ${deferred.name ?? '<name>'} NOT DEFERRABLE), or add CREATE UNIQUE INDEX ON ${cfg.table} (${cfg.key.join(', ')})`;
  }
  return `${cfg.table} has no primary key or unique index on (${cfg.key.join(', ')}), which the upsert needs: CREATE UNIQUE INDEX ON ${cfg.table} (${cfg.key.join(', ')})`;
}
