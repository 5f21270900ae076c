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
 * One key per record version: the same integration, record and content always give the same key (a
 * re-delivery after a crash), any change gives a new one. `replaces` is the ledger's hash of the version
 * the API holds (none before the first delivery): a record changed back (A → B → A) then gets a new key
 * for its second A, which an API still remembering the first A's key would otherwise answer from memory
 * without applying. After a crash the ledger is as before, so the key is the same. 64 hex characters.
 */
export function idempotencyKeyOf(integration: string, recordKey: string, contentHash: string, replaces?: string): string {
  return sha256(`tidemark-delivery\u0000${integration}\u0000${recordKey}\u0000${contentHash}${replaces ? `\u0000${replaces}` : ''}`);
}

/**
 * A bulk request's key: a hash of its records' keys, in order (the same batch again → the same key).
 * `resend`: the items a bulk answer said were not applied, sent again: a key of their own per attempt of
 * the page, since an API that keeps answers would otherwise replay "not applied" to every later attempt.
 */
export function bulkIdempotencyKeyOf(keys: readonly string[], resend?: string): string {
  return sha256(`tidemark-bulk\u0000${keys.join(',')}${resend ? `\u0000${resend}` : ''}`);
}

/** The DELETE of a record the API holds in the version `contentHash`: the same key however often it is sent. */
export function deleteIdempotencyKeyOf(integration: string, recordKey: string, contentHash: string): string {
  return sha256(`tidemark-delete\u0000${integration}\u0000${recordKey}\u0000${contentHash}`);
}
