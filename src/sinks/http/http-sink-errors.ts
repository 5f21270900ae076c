import { PermanentError } from '../../errors';

/** The sink's config does not fit the records (a key or template field the mapped records do not have): fix the config. */
export class HttpSinkSetupError extends PermanentError {
  override readonly name = 'HttpSinkSetupError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`sink.${field}: ${message}`);
  }
}

/**
 * The API answered a status that is neither success, nor retried, nor one of sink.deadLetterStatuses
 * (a 404 from a wrong path, a 405): retrying cannot fix it and refusing every record would lose them,
 * so the page fails, non-retryable, and the checkpoint stays before it.
 */
export class DeliveryStatusError extends PermanentError {
  override readonly name = 'DeliveryStatusError';
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    body: string,
  ) {
    super(
      `${method} ${url} → ${status}${body ? `; the API said: ${body}` : ''}. ` +
        (status === 404 || status === 405
          ? 'Check sink.url, sink.path and sink.method; if this status means that one record is refused, add it to sink.deadLetterStatuses'
          : `If this status means that one record is refused, add ${status} to sink.deadLetterStatuses; otherwise fix the request (sink.url, sink.path, sink.body, sink.headers)`),
    );
  }
}

/** 401 even with a fresh credential (or 403 without a rate-limit header): no record can fix it. */
export class DeliveryCredentialsError extends PermanentError {
  override readonly name = 'DeliveryCredentialsError';
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`${url} → ${status}: the API refuses the credentials: check sink.auth / sink.headers (their \${NAME} values in the worker's environment) and the account's access`);
  }
}

/** Retryable: a request kept failing (5xx, 429, timeouts, resets); the page is sent again from its checkpoint, with the same keys. */
export class DeliveryRetriesExhaustedError extends Error {
  override readonly name = 'DeliveryRetriesExhaustedError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly attempts: number,
    readonly lastReason: string,
  ) {
    super(`${method} ${url} failed ${attempts} times (last: ${lastReason}); whatever sends the page again (the activity's next attempt, \`tidemark resume\` or the next sync) starts from its checkpoint with the same idempotency keys`);
  }
}

/** sink.bulk.results could not read an accepted bulk answer: the page fails (some of its records may be applied; re-sent with the same key, the API replays its answer). */
export class BulkResultsError extends PermanentError {
  override readonly name = 'BulkResultsError';
  constructor(
    readonly url: string,
    readonly records: number,
    readonly why: string,
  ) {
    super(`${url}: sink.bulk.results ${why}; it must give one { status, message? } per record of the request, in order: fix the expression (or remove it to find refused records by splitting)`);
  }
}

const pct = (f: number) => `${Number((f * 100).toFixed(2))}%`;

/**
 * The delete guard of an HTTP sink: a source read that silently returned too little must never delete
 * the API's records. Permanent: a scheduled reconciliation fails at once instead of retrying into the same numbers.
 */
export class TooManyDeliveryDeletesError extends PermanentError {
  override readonly name = 'TooManyDeliveryDeletesError';
  constructor(
    readonly integration: string,
    readonly toDelete: number,
    readonly ledgerRows: number,
    readonly maxFraction: number,
  ) {
    super(
      `${integration}: refusing to send DELETE for ${toDelete} of the ${ledgerRows} records the API was sent (${pct(ledgerRows ? toDelete / ledgerRows : 1)}), ` +
        `more than sink.deletes.maxFraction ${maxFraction} (${pct(maxFraction)}); nothing was sent or removed from the delivery ledger. If the source really lost those rows, ` +
        `run \`tidemark sync ${integration} --force-deletes\` once (or raise sink.deletes.maxFraction); otherwise check the source: a read that returns too little must never delete the API's records.`,
    );
  }
}
