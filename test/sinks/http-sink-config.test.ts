import { describe, expect, it } from 'vitest';
import { DEFAULT_DEAD_LETTER_STATUSES, httpSinkSchema } from '../../src/config/http-sink-schema';
import { formatPath } from '../../src/config/errors';
import { contentHashOf, idempotencyKeyOf, recordKeyOf } from '../../src/sinks/http';
import { requestShapeOf, type DeliveryKeyParts } from '../../src/sinks/http/delivery-keys';
import { RecordDecoder } from '../../src/sinks/http/record-values';

const base = { kind: 'http', url: 'https://api.example.com/v1/customers', key: ['id'] };

/** Every issue as "path: message", for a config that must be refused. */
function problems(over: Record<string, unknown>): string[] {
  const r = httpSinkSchema.safeParse({ ...base, ...over });
  if (r.success) throw new Error(`accepted: ${JSON.stringify(over)}`);
  return r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

describe('sink: { kind: http } config', () => {
  it('fills the documented defaults', () => {
    const cfg = httpSinkSchema.parse(base);
    expect(cfg).toMatchObject({
      method: 'POST',
      bulk: 'per-record',
      concurrency: 4,
      idempotencyHeader: 'Idempotency-Key',
      timeout: 30_000,
      retries: 6,
      backoff: { initial: 500, max: 30_000 },
      deadLetterStatuses: DEFAULT_DEAD_LETTER_STATUSES,
      stateUrl: '${DATABASE_URL}',
    });
    expect(httpSinkSchema.parse({ ...base, method: 'patch', bulk: { size: 100 }, concurrency: 64 })).toMatchObject({ method: 'PATCH', bulk: { size: 100 }, concurrency: 64 });
  });

  it('refuses a method the sink does not send', () => {
    expect(problems({ method: 'GET' })).toEqual(['method: is "GET", which an HTTP sink does not send: use POST, PUT, PATCH or DELETE']);
  });

  it('refuses a concurrency out of 1..64', () => {
    expect(problems({ concurrency: 0 })).toEqual(['concurrency: must be from 1 to 64 requests in flight']);
    expect(problems({ concurrency: 65 })).toEqual(['concurrency: must be from 1 to 64 requests in flight']);
    expect(problems({ concurrency: 2.5 })[0]).toMatch(/^concurrency: must be a whole number/);
  });

  it('refuses templates with bad syntax or variables the mode does not define', () => {
    expect(problems({ path: "'/' & " })[0]).toMatch(/^path: is not a valid JSONata expression/);
    expect(problems({ path: "'/' & $cursor" })).toEqual(['path: uses $cursor, which is not defined: the per-record templates have $record, $key, $idempotencyKey (per record, read fields directly (e.g. id) or from $record)']);
    expect(problems({ bulk: { size: 10 }, body: '{ "items": $record }' })).toEqual([
      'body: uses $record, which is not defined: the bulk templates have $records, $keys, $idempotencyKeys, $idempotencyKey (with bulk, a request carries many records: read them from $records)',
    ]);
    expect(httpSinkSchema.safeParse({ ...base, body: '($x := $record.id; { "id": $x, "k": $idempotencyKey })' }).success).toBe(true);
  });

  it('refuses a bulk size under 2, DELETE per record without a path, and deletes without reconcileEvery', () => {
    expect(problems({ bulk: { size: 1 } })).toEqual(['bulk.size: must be at least 2 (or use bulk: per-record)']);
    expect(problems({ bulk: 'batch' })).toEqual(['bulk: must be per-record or { size: N, results? } (N records per request)']);
    expect(problems({ method: 'DELETE' })[0]).toMatch(/^path: is required with method DELETE per record/);
    expect(problems({ deletes: { maxFraction: 0.1 } })[0]).toMatch(/^deletes\.reconcileEvery: /);
  });

  it('keeps credentials out of the file and statuses consistent', () => {
    expect(problems({ headers: { Authorization: 'Bearer abc123' } })[0]).toMatch(/^headers\.Authorization: is a credential/);
    expect(problems({ headers: { 'Idempotency-Key': 'x' } })[0]).toMatch(/^headers\.Idempotency-Key: is the idempotency header/);
    expect(problems({ deadLetterStatuses: [422, 401] })[0]).toMatch(/^deadLetterStatuses\[1\]: 401 means the credentials are refused/);
    expect(problems({ deadLetterStatuses: [429] })[0]).toMatch(/^deadLetterStatuses\[0\]: 429 is retried/);
    expect(problems({ deadLetterStatuses: [500] })).toEqual(['deadLetterStatuses[0]: must be a 4xx status (the record was refused)']);
    expect(problems({ auth: { type: 'bearer', token: 'literal' } })[0]).toMatch(/^auth\.token: is a credential/);
    expect(problems({ key: [] })).toEqual(['key: needs at least one key field, e.g. [id]']);
    expect(problems({ url: 'ftp://x' })).toEqual(['url: must be an http:// or https:// URL (or start with a ${NAME} reference)']);
  });
});

describe('records as the API gets them', () => {
  it('turns PostgreSQL text into JSON values by column type', () => {
    const columns = [
      { name: 'id', type: 'bigint' },
      { name: 'big', type: 'bigint' },
      { name: 'total', type: 'numeric(12,2)' },
      { name: 'active', type: 'boolean' },
      { name: 'meta', type: 'jsonb' },
      { name: 'at', type: 'timestamp with time zone' },
      { name: 'local', type: 'timestamp without time zone' },
      { name: 'tags', type: 'text[]' },
      { name: 'note', type: 'text' },
    ].map((c) => ({ ...c, notNull: false }));
    const d = new RecordDecoder(columns);
    expect(d.decode(['42', '9007199254740993', '12.50', 't', '{"a":[1,2]}', '2024-01-01 10:00:00.000123+00', '2024-01-01 10:00:00', '{a,b}', null])).toEqual({
      id: 42,
      big: '9007199254740993',
      total: 12.5,
      active: true,
      meta: { a: [1, 2] },
      at: '2024-01-01T10:00:00.000123+00:00',
      local: '2024-01-01T10:00:00',
      tags: '{a,b}',
      note: null,
    });
    expect(d.decode(['1', '1', 'NaN', 'f', 'null', 'infinity', '2024-01-01 10:00:00+05:30', '{}', 'x'])).toMatchObject({ total: 'NaN', active: false, meta: null, at: 'infinity', local: '2024-01-01T10:00:00+05:30' });
  });

  it('hashes content independently of field order, and keys per integration, record and content', () => {
    expect(contentHashOf({ a: 1, b: { c: 2, d: 3 } })).toBe(contentHashOf({ b: { d: 3, c: 2 }, a: 1 }));
    expect(contentHashOf({ a: 1 })).not.toBe(contentHashOf({ a: '1' }));
    const h = contentHashOf({ id: 1 });
    const request = requestShapeOf({ method: 'POST', url: 'https://api.example.test/items' });
    const k = (over: Partial<DeliveryKeyParts> = {}) => idempotencyKeyOf({ integration: 'a', recordKey: '[1]', contentHash: h, request, ...over });
    expect(k()).toMatch(/^[0-9a-f]{64}$/);
    expect(k()).toBe(k());
    // The request is part of it: another body template, path, method or URL is another request.
    const others = [
      { method: 'POST', url: 'https://api.example.test/items', body: '{ "id": id }' },
      { method: 'POST', url: 'https://api.example.test/items', path: "'/' & id" },
      { method: 'PUT', url: 'https://api.example.test/items' },
      { method: 'POST', url: 'https://api.example.test/v2/items' },
    ].map((r) => k({ request: requestShapeOf(r) }));
    const keys = [k(), k({ integration: 'b' }), k({ recordKey: '[2]' }), k({ contentHash: contentHashOf({ id: 2 }) }), k({ replaces: h }), k({ resend: '17' }), k({ resend: '18' }), ...others];
    expect(new Set(keys).size).toBe(keys.length);
    expect(recordKeyOf({ id: 7, org: 'x', other: 1 }, ['org', 'id'])).toBe('["x",7]');
  });
});
