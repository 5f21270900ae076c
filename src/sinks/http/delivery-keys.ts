import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: equal records hash equally whatever their field order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The record's identity at the API: the key fields' values as JSON text, e.g. `[42]` (the ledger's record_key). */
export function recordKeyOf(record: Record<string, unknown>, key: readonly string[]): string {
  return canonicalJson(key.map((k) => record[k] ?? null));
}

/** The mapped content of one record version. */
export function contentHashOf(record: Record<string, unknown>): string {
  return sha256(canonicalJson(record));
}

/**
 * What the API receives besides the record: the method, the resolved URL, the path and body templates (the body
 * is the record through them) and whether records go one per request or in bulk. Part of every key, so a request
 * that changed (a new body template, another endpoint) is never answered from an API's memory of the old one: an acceptance run re-sent 2,000 records after
 * a body change and the API replayed all 2,000 old answers (0 updated, the run "completed").
 * Not the rendered body itself: it may hold $idempotencyKey, which is made from this.
 */
export function requestShapeOf(parts: { method: string; url: string; path?: string; body?: string; bulk?: boolean }): string {
  return sha256(canonicalJson(parts));
}

export interface DeliveryKeyParts {
  integration: string;
  recordKey: string;
  contentHash: string;
  /** requestShapeOf the sink's requests */
  request: string;
  /** the ledger's hash of the version the API holds (none before the first delivery) */
  replaces?: string;
  /** a dead-letter retry: the letter re-sent (its id changes each time the API refuses the record again) */
  resend?: string;
}

/**
 * One key per record version and request: the same integration, record, content and request always give the same
 * key (a re-delivery after a crash), any change gives a new one. `replaces`: a record changed back (A → B → A) gets
 * a new key for its second A, which an API still remembering the first A's key would otherwise answer from memory
 * without applying. `resend`: `dead-letters --retry` sends a refused record under a key of its own, since an API
 * that keeps refusals by key would replay the 4xx to every retry; a retry that crashed before it committed keeps its
 * letter, so its key. After a crash the ledger is as before, so the key is the same. 64 hex characters.
 */
export function idempotencyKeyOf(p: DeliveryKeyParts): string {
  const extra = `${p.replaces ? `\u0000${p.replaces}` : ''}${p.resend ? `\u0000resend\u0000${p.resend}` : ''}`;
  return sha256(`tidemark-delivery\u0000${p.integration}\u0000${p.recordKey}\u0000${p.contentHash}\u0000${p.request}${extra}`);
}

/**
 * A bulk request's key: a hash of its records' keys, in order (the same batch again → the same key).
 * `resend`: the items a bulk answer said were not applied, sent again: a key of their own per attempt of
 * the page, since an API that keeps answers would otherwise replay "not applied" to every later attempt.
 */
export function bulkIdempotencyKeyOf(keys: readonly string[], resend?: string): string {
  return sha256(`tidemark-bulk\u0000${keys.join(',')}${resend ? `\u0000${resend}` : ''}`);
}

/** The DELETE of a record the API holds in the version `contentHash`: the same key however often it is sent (to the same URL). */
export function deleteIdempotencyKeyOf(integration: string, recordKey: string, contentHash: string, request: string): string {
  return sha256(`tidemark-delete\u0000${integration}\u0000${recordKey}\u0000${contentHash}\u0000${request}`);
}
