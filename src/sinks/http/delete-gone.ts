import type pg from 'pg';
import { countDeliveries, readDeliveries, removeDeliveries } from '../../db/state';
import { deliverPage, type DeliveryEngine, type Refusal } from './deliver-page';
import { deleteIdempotencyKeyOf } from './delivery-keys';
import type { Delivery } from './delivery-templates';
import { TooManyDeliveryDeletesError } from './http-sink-errors';

export interface DeleteGoneOptions {
  integration: string;
  /** requestShapeOf the DELETE requests (their method, URL and path template) */
  request: string;
  key: readonly string[];
  maxFraction: number;
  /** go past maxFraction (`tidemark sync <id> --force-deletes`) */
  force: boolean;
  /** the DELETE requests: method DELETE, deletes.path over the key fields, 404 and 410 accepted */
  engine: DeliveryEngine;
}

export interface DeleteGoneResult {
  /** records the ledger held among those given */
  requested: number;
  /** DELETE answered 2xx, 404 or 410: removed from the ledger */
  deleted: number;
  /** refused with a dead-letter status: kept in the ledger, tried again by the next reconciliation */
  refused: Refusal[];
  /** the ledger's size before, which maxFraction is a share of */
  ledgerRows: number;
}

/** The ledger's record_key (`[42]`, `["eu",7]`) back into the key fields it was made from. */
export function keyRecordOf(recordKey: string, key: readonly string[]): Record<string, unknown> {
  const values = JSON.parse(recordKey) as unknown[];
  return Object.fromEntries(key.map((k, i) => [k, values[i] ?? null]));
}

/**
 * Inside the caller's transaction: sends DELETE for each given record key the ledger holds, guarded by
 * maxFraction of the ledger, and removes the deleted ones from it. Any other outcome (retries used up, a
 * status that is not the record's fault) throws after the requests in flight settle: the transaction rolls
 * back, the ledger keeps them all, and the next reconciliation sends them again (a 404 then counts as deleted).
 */
export async function deleteGone(tx: pg.Client, recordKeys: readonly string[], o: DeleteGoneOptions): Promise<DeleteGoneResult> {
  const ledgerRows = await countDeliveries(tx, o.integration);
  const held = await readDeliveries(tx, o.integration, [...new Set(recordKeys)]);
  if (held.size > o.maxFraction * ledgerRows && !o.force) throw new TooManyDeliveryDeletesError(o.integration, held.size, ledgerRows, o.maxFraction);
  const items: Delivery[] = [...held].map(([recordKey, contentHash]) => ({
    record: keyRecordOf(recordKey, o.key),
    recordKey,
    contentHash,
    idempotencyKey: deleteIdempotencyKeyOf(o.integration, recordKey, contentHash, o.request),
  }));
  const r = await deliverPage(items, { ...o.engine, bulkSize: undefined, results: undefined });
  const deleted = await removeDeliveries(tx, o.integration, r.delivered.map((d) => d.recordKey));
  return { requested: held.size, deleted, refused: r.refused, ledgerRows };
}
