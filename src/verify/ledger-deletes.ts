import type pg from 'pg';
import { errorMessage } from '../activities/failures';
import { resolveEnvRefs } from '../config/env-refs';
import { keySourceColumns } from '../config/http-sink-deletes-checks';
import type { HttpSinkConfig } from '../config/http-sink-schema';
import { splitTableName } from '../config/identifiers';
import { stateDbUrlOf, type Integration, type PostgresSourceConfig } from '../config/schema';
import { deliveryKeysPage } from '../db/state';
import { closeQuietly, connectNamed } from '../pg/connect';
import { prepareStateSession } from '../db/state-session';
import { HttpSink, TooManyDeliveryDeletesError } from '../sinks/http';
import { requireTable } from '../sources/postgres/describe-table';
import { absentKeysSql } from './key-sql';
import type { KeyColumn } from './range-sql';
import { finishReconciliation, recordDeletes, startReconciliation } from './reconciliations';
import { IntegrationBusyError, VerifyError, verifyPrivilegeError } from './verify-errors';

export type LedgerIntegration = Integration & { source: PostgresSourceConfig; sink: HttpSinkConfig & { deletes: NonNullable<HttpSinkConfig['deletes']> } };

export interface LedgerDeleteSummary {
  /** keys the delivery ledger holds and the source table no longer has */
  gone: number;
  /** sent as DELETE (answered 2xx, 404 or 410) and removed from the ledger */
  deleted: number;
  /** refused with a dead-letter status: kept in the ledger, tried again next time */
  refused: number;
  ledgerRows: number;
  forced: boolean;
}

export interface LedgerDeleteOptions {
  force?: boolean;
  /** the sync run reconciling (tidemark.runs.rows_deleted) */
  runKey?: string;
  /** ledger keys looked up in the source per query (default 5000) */
  pageSize?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: () => void;
}

/** A ledger key's JSON values as the text the source's key columns are cast from. */
function asText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Deletes for an HTTP sink: the "target" is the integration's delivery ledger. Pages through the ledger's
 * keys (bounded memory per page) asking the source table which it no longer has; then, in one state
 * transaction, HttpSink.deleteGone sends their DELETEs (guarded by sink.deletes.maxFraction) and removes
 * them from the ledger, and the reconciliation's counts are recorded: the ledger and the counts never
 * disagree with what committed. Holds the integration's lock throughout, so no run delivers meanwhile.
 */
export async function reconcileLedgerDeletes(it: LedgerIntegration, opts: LedgerDeleteOptions = {}): Promise<LedgerDeleteSummary> {
  const env = opts.env ?? process.env;
  const cols = keySourceColumns(it.sink.key, it.mapping);
  if ('problem' in cols) throw new VerifyError(`integrations[${it.id}].sink.key[${cols.index}]: ${cols.problem}`);
  // Rows its policies hide would read as deleted from the source.
  if (it.source.rowSecurity === 'apply') throw new VerifyError(`integrations[${it.id}]: sink.deletes cannot go with source.rowSecurity: apply (what the policies show): the records they hide would be deleted`);
  const check = () => {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('reconciliation cancelled');
    opts.onProgress?.();
  };
  const stateUrl = stateDbUrlOf(it, env);
  const src = await connectNamed(resolveEnvRefs(it.source.url, `integrations[${it.id}].source.url`, env), 'the source database', `integrations[${it.id}].source.url`, { applicationName: 'tidemark-reconcile', rowSecurityOff: true });
  let state: pg.Client | undefined;
  const sink = new HttpSink(it.sink, { integration: it.id, env, stateDbUrl: stateUrl });
  try {
    state = await connectNamed(stateUrl, 'the state database', `integrations[${it.id}].sink.stateUrl`, { applicationName: 'tidemark-reconcile' });
    await src.query(`SET statement_timeout = ${Math.floor(it.source.statementTimeout)}`);
    await prepareStateSession(state, { lock: { integration: it.id, busy: () => new IntegrationBusyError(it.id) } });
    const table = splitTableName(it.source.table);
    const info = await requireTable(src, table, 'source');
    const srcKey = cols.columns.map((name): KeyColumn => {
      const c = info.columns.find((col) => col.name === name);
      if (!c) throw new VerifyError(`sink.key: column "${name}" is not in the source table ${it.source.table}`);
      return { name, type: c.type };
    });
    const gone = await findGone(src, state, it.id, table, srcKey, opts.pageSize ?? 5000, check);
    return await deleteInOneTransaction(state, sink, it, gone, opts);
  } catch (err) {
    throw (await verifyPrivilegeError(err, { integration: it.id, source: { table: it.source.table, client: src } })) ?? err;
  } finally {
    await sink.close();
    await closeQuietly(src);
    await closeQuietly(state);
  }
}

async function findGone(src: pg.Client, state: pg.Client, integration: string, table: ReturnType<typeof splitTableName>, srcKey: KeyColumn[], pageSize: number, check: () => void): Promise<string[]> {
  const gone: string[] = [];
  let after: string | undefined;
  for (;;) {
    const keys = await deliveryKeysPage(state, integration, after, pageSize);
    if (!keys.length) break;
    const values = keys.map((k) => JSON.parse(k) as unknown[]);
    const columns = srcKey.map((_, i) => values.map((v) => asText(v[i])));
    const absent = await src.query<string[]>({ text: absentKeysSql(table, srcKey), values: columns, rowMode: 'array' });
    for (const [pos] of absent.rows) gone.push(keys[Number(pos) - 1] as string);
    check();
    if (keys.length < pageSize) break;
    after = keys[keys.length - 1];
  }
  return gone;
}

async function deleteInOneTransaction(state: pg.Client, sink: HttpSink, it: LedgerIntegration, gone: string[], opts: LedgerDeleteOptions): Promise<LedgerDeleteSummary> {
  const recId = await startReconciliation(state, it.id, opts.runKey ?? null);
  const counts = { rangesCompared: 0, rowsMissing: gone.length };
  await state.query('BEGIN');
  try {
    const r = await sink.deleteGone(state, gone, { signal: opts.signal, onIdle: opts.onProgress }, { force: opts.force });
    await recordDeletes(state, recId, opts.runKey ?? null, r.deleted);
    await state.query('COMMIT');
    const refusals = r.refused.map((x) => `${x.delivery.recordKey}: ${x.reason}`);
    await finishReconciliation(state, recId, 'completed', counts, refusals.length ? `${refusals.length} DELETE(s) refused, kept in the ledger: ${refusals.slice(0, 5).join('; ')}` : undefined);
    return { gone: gone.length, deleted: r.deleted, refused: r.refused.length, ledgerRows: r.ledgerRows, forced: !!opts.force };
  } catch (err) {
    await state.query('ROLLBACK').catch(() => undefined);
    const status = err instanceof TooManyDeliveryDeletesError ? 'refused' : 'failed';
    await finishReconciliation(state, recId, status, counts, errorMessage(err)).catch(() => undefined);
    throw err;
  }
}
