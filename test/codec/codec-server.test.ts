import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmCodec, parseKey } from '../../src/codec/aes-gcm-codec';
import { freePort } from '../../src/dev/free-port';
import { runCli, startCli, waitExit } from '../helpers/cli';

const key = randomBytes(32).toString('base64');
const token = 'codec-test-token';
const ui = 'http://localhost:8233';
let child: ChildProcess;
let base: string;

const asJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const fromJson = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ({ child } = await startCli(['codec-server', '--port', String(port), '--ui-origin', ui], { TIDEMARK_ENCRYPTION_KEY: key, TIDEMARK_CODEC_TOKEN: token }, /codec-server: http/));
});
afterAll(async () => {
  child?.kill('SIGTERM');
  if (child) await waitExit(child);
});

describe('tidemark codec-server', () => {
  it('encodes with the workers key and decodes back to the original payload', async () => {
    const plain = defaultPayloadConverter.toPayload({ integration: 'orders', cursor: ['2026-01-01 00:00:00+00', '42'] });
    const enc = await post('/encode', { payloads: [asJson(plain)] });
    expect(enc.status).toBe(200);
    const encoded = ((await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(Buffer.from(encoded[0]?.metadata.encoding ?? '', 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(encoded[0]?.data ?? '', 'base64').toString()).not.toContain('orders');
    // what a worker with the same key would read
    const [inProcess] = await new AesGcmCodec(parseKey(key)).decode(encoded.map(fromJson));
    expect(defaultPayloadConverter.fromPayload(inProcess as Payload)).toEqual({ integration: 'orders', cursor: ['2026-01-01 00:00:00+00', '42'] });

    const dec = await post('/decode', { payloads: encoded });
    expect(dec.status).toBe(200);
    const decoded = ((await dec.json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(defaultPayloadConverter.fromPayload(fromJson(decoded[0] as { metadata: Record<string, string>; data: string }))).toEqual({
      integration: 'orders',
      cursor: ['2026-01-01 00:00:00+00', '42'],
    });
  });

  it('passes unencrypted payloads through and names a payload of another key', async () => {
    const plain = asJson(defaultPayloadConverter.toPayload('clear'));
    const dec = await post('/decode', { payloads: [plain] });
    expect(((await dec.json()) as { payloads: unknown[] }).payloads[0]).toEqual(plain);
    const other = await new AesGcmCodec(randomBytes(32)).encode([defaultPayloadConverter.toPayload('x')]);
    const wrong = await post('/decode', { payloads: other.map(asJson) });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/encrypted with key .* TIDEMARK_ENCRYPTION_KEY is key/);
  });

  it('refuses a missing or wrong token, bad bodies and other paths', async () => {
    expect((await post('/decode', { payloads: [] }, {})).status).toBe(401);
    expect((await post('/decode', { payloads: [] }, { authorization: 'Bearer nope' })).status).toBe(401);
    const bad = await post('/decode', { items: [] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/payloads/);
    expect((await post('/other', { payloads: [] })).status).toBe(404);
    expect((await fetch(`${base}/decode`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(405);
  });

  it('answers CORS preflights for the configured UI origin only', async () => {
    const pre = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: ui, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-namespace,content-type,authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ui);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    const foreign = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("answers the UI that TEMPORAL_UI names when no --ui-origin is given (tidemark dev's --ui-port)", async () => {
    const port = await freePort();
    const started = await startCli(['codec-server', '--port', String(port)], { TIDEMARK_ENCRYPTION_KEY: key, TEMPORAL_UI: 'http://localhost:17999' }, /codec-server: http/);
    try {
      expect(started.output()).toContain('CORS for http://localhost:17999, http://127.0.0.1:17999');
      const pre = await fetch(`http://127.0.0.1:${port}/decode`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:17999', 'access-control-request-method': 'POST' } });
      expect(pre.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:17999');
      const old = await fetch(`http://127.0.0.1:${port}/decode`, { method: 'OPTIONS', headers: { origin: ui, 'access-control-request-method': 'POST' } });
      expect(old.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      started.child.kill('SIGTERM');
      await waitExit(started.child);
    }
  });

  it('says what is missing when there is no key', async () => {
    const r = await runCli(['codec-server', '--port', '1'], { TIDEMARK_ENCRYPTION_KEY: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/TIDEMARK_ENCRYPTION_KEY is not set/);
  });
});
