import type pg from 'pg';
import { envRefsIn, resolveEnvRefs } from '../../config/env-refs';
import type { HttpSinkConfig } from '../../config/http-sink-schema';
import { insertDeliveryDeadLetters, readDeliveries, saveDeliveries } from '../../db/state';
import { createAuth, type HttpAuth, type TokenCache } from '../../sources/http/auth';
import { leaseLimiter, type LimiterLease } from '../../sources/http/rate-limiter';
import { makeRedactor } from '../../sources/http/redact';
import type { ColumnSpec } from '../../sources/source';
import type { Sink, SinkPage, SinkWriteContext, SinkWriteResult } from '../sink';
import { BulkResults } from './bulk-results';
import { deleteGone, type DeleteGoneResult } from './delete-gone';
import { deliverPage, type Refusal } from './deliver-page';
import { DeliveryClient, type DeliveryStats } from './delivery-client';
import { contentHashOf, idempotencyKeyOf, recordKeyOf, requestShapeOf } from './delivery-keys';
import { DeliveryTemplates, type Delivery } from './delivery-templates';
import { USERINFO_REFUSED } from '../../config/http-schema-parts';
import { HttpSinkSetupError } from './http-sink-errors';
import { RecordDecoder } from './record-values';

export interface HttpSinkContext {
  /** The integration (or instance) id: the ledger, idempotency keys and OAuth2 tokens are per integration. */
  integration: string;
  /** Where ${NAME} references are resolved (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The state database, for OAuth2 refresh tokens. */
  stateDbUrl?: string;
  tokenCache?: TokenCache;
}

/**
 * Sends records to an API. Per page, inside the caller's transaction: decode the rows into records, keep
 * the last version of each key, skip those whose content hash the ledger already holds, deliver the rest
 * (deliverPage), then write the ledger rows of the delivered and the dead letters of the refused.
 */
export class HttpSink implements Sink {
  readonly kind = 'http';
  readonly commitsWithCheckpoint = 'the delivery ledger rows (record key → content hash) of the records the API accepted, and the dead letters of those it refused';
  private readonly lease: LimiterLease;
  private readonly client: DeliveryClient;
  private readonly templates: DeliveryTemplates;
  private readonly results?: BulkResults;
  private readonly deleteTemplates?: DeliveryTemplates;
  private readonly auth: HttpAuth;
  /** requestShapeOf this sink's deliveries and deletes: part of their idempotency keys */
  private readonly request: string;
  private readonly deleteRequest?: string;
  private decoder?: RecordDecoder;

  constructor(
    private readonly cfg: HttpSinkConfig,
    private readonly ctx: HttpSinkContext,
  ) {
    const env = ctx.env ?? process.env;
    const url = new URL(resolveEnvRefs(cfg.url, 'sink.url', env));
    // As the config check does for a URL written out: one from ${NAME} is checked once resolved.
    if (url.username || url.password) throw new HttpSinkSetupError('url', USERINFO_REFUSED);
    const headers = Object.fromEntries(Object.entries(cfg.headers).map(([k, v]) => [k, resolveEnvRefs(v, `sink.headers.${k}`, env)]));
    const secrets = [cfg.url, ...Object.values(cfg.headers)].flatMap((v) => envRefsIn(v)).map((name) => env[name] ?? '');
    this.auth = createAuth(cfg.auth, { integration: ctx.integration, env, stateDbUrl: ctx.stateDbUrl, cache: ctx.tokenCache, timeoutMs: cfg.timeout });
    const mask = makeRedactor(secrets);
    const redact = (text: string) => this.auth.redact(mask(text));
    this.lease = leaseLimiter(url.origin, cfg.requestsPerSecond, ctx.integration);
    this.client = new DeliveryClient({
      headers,
      idempotencyHeader: cfg.idempotencyHeader,
      timeoutMs: cfg.timeout,
      retries: cfg.retries,
      backoff: { initialMs: cfg.backoff.initial, maxMs: cfg.backoff.max },
      limiter: this.lease.limiter,
      redact,
      policy: cfg.responses,
      deadLetterStatuses: cfg.deadLetterStatuses,
      auth: this.auth,
    });
    this.templates = new DeliveryTemplates(cfg, url);
    if (cfg.bulk !== 'per-record' && cfg.bulk.results !== undefined) this.results = new BulkResults(cfg.bulk.results);
    const deletePath = cfg.deletes?.path ?? (cfg.bulk === 'per-record' ? cfg.path : undefined);
    if (cfg.deletes && deletePath !== undefined) this.deleteTemplates = new DeliveryTemplates({ path: deletePath, body: undefined, bulk: 'per-record', method: 'DELETE', key: cfg.key }, url);
    // Per record or in bulk changes what a request means; the bulk size does not (a smaller one after a 413 must
    // re-send the records already applied under their keys).
    this.request = requestShapeOf({ method: cfg.method, url: url.href, path: cfg.path, body: cfg.body, bulk: cfg.bulk !== 'per-record' });
    if (deletePath !== undefined) this.deleteRequest = requestShapeOf({ method: 'DELETE', url: url.href, path: deletePath });
  }

  get stats(): DeliveryStats {
    return this.client.stats;
  }

  async prepare(columns: readonly ColumnSpec[]): Promise<void> {
    const names = columns.map((c) => c.name);
    for (const [i, k] of this.cfg.key.entries()) {
      if (!names.includes(k)) throw new HttpSinkSetupError(`key[${i}]`, `field "${k}" is not among the mapped records' fields (${names.join(', ')}): the key names the record at the API`);
    }
    this.templates.checkFields(names);
    this.decoder = new RecordDecoder(columns);
  }

  async write(tx: pg.Client, page: SinkPage, ctx: SinkWriteContext): Promise<SinkWriteResult> {
    if (!this.decoder) throw new Error('HttpSink.prepare() must run before writing');
    const { integration } = this.ctx;
    const latest = new Map<string, Delivery>();
    const keyless: Refusal[] = [];
    for (const [i, row] of page.rows.entries()) {
      const record = this.decoder.decode(row);
      const missing = this.cfg.key.filter((k) => record[k] === null || record[k] === undefined);
      const recordKey = recordKeyOf(record, this.cfg.key);
      const contentHash = contentHashOf(record);
      const d: Delivery = { record, recordKey, contentHash, idempotencyKey: '', ...(ctx.resending ? { resend: ctx.resending[i] } : {}) };
      if (missing.length) {
        keyless.push({ delivery: d, reason: `the key field(s) ${missing.join(', ')} are empty: the record cannot be identified at the API (sink.key)` });
        continue;
      }
      // A key twice in one page: only its last version is sent (two in flight could be applied in either order).
      latest.delete(recordKey);
      latest.set(recordKey, d);
    }
    const ledger = await readDeliveries(tx, integration, [...latest.keys()]);
    const changed = [...latest.values()].filter((d) => ledger.get(d.recordKey) !== d.contentHash);
    for (const d of changed) d.idempotencyKey = idempotencyKeyOf({ integration, recordKey: d.recordKey, contentHash: d.contentHash, request: this.request, replaces: ledger.get(d.recordKey), resend: d.resend });
    const result = await deliverPage(changed, {
      client: this.client,
      templates: this.templates,
      method: this.cfg.method,
      concurrency: this.cfg.concurrency,
      bulkSize: this.cfg.bulk === 'per-record' ? undefined : this.cfg.bulk.size,
      results: this.results,
      signal: ctx.signal,
      onIdle: ctx.onIdle,
    });
    const refused = [...keyless, ...result.refused];
    await saveDeliveries(tx, integration, result.delivered);
    await insertDeliveryDeadLetters(
      tx,
      integration,
      ctx.runId,
      page.cursor,
      refused.map((r) => ({ record: r.delivery.record, reason: r.reason, ...(r.status !== undefined ? { httpStatus: r.status } : {}), ...(r.body !== undefined ? { body: r.body } : {}) })),
    );
    return { written: result.delivered.length, refused: refused.length, unchanged: page.rows.length - keyless.length - changed.length };
  }

  /**
   * Records gone from the source (the reconciliation found their keys in the ledger, not in the source):
   * inside the caller's transaction, sends DELETE (sink.deletes.path over the key fields, 404 / 410 count
   * as deleted) and removes them from the ledger. Refuses, sending nothing, to delete more than
   * sink.deletes.maxFraction of the ledger unless `force` (TooManyDeliveryDeletesError). Needs no prepare().
   */
  async deleteGone(tx: pg.Client, recordKeys: readonly string[], ctx: { signal?: AbortSignal; onIdle?: () => void }, opts: { force?: boolean } = {}): Promise<DeleteGoneResult> {
    if (!this.cfg.deletes || !this.deleteTemplates) throw new HttpSinkSetupError('deletes', 'is not set: records gone from the source are not deleted at the API without it');
    return await deleteGone(tx, recordKeys, {
      integration: this.ctx.integration,
      request: this.deleteRequest as string,
      key: this.cfg.key,
      maxFraction: this.cfg.deletes.maxFraction,
      force: !!opts.force,
      engine: { client: this.client, templates: this.deleteTemplates, method: 'DELETE', concurrency: this.cfg.concurrency, accept: [404, 410], signal: ctx.signal, onIdle: ctx.onIdle },
    });
  }

  async close(): Promise<void> {
    this.lease.release();
  }
}

export function createHttpSink(cfg: HttpSinkConfig, ctx: HttpSinkContext): HttpSink {
  return new HttpSink(cfg, ctx);
}
