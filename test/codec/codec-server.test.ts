import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { request, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmCodec, parseKey } from '../../src/codec/aes-gcm-codec';
import { createCodecServer } from '../../src/codec/codec-server';
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

  it('refuses to bind beyond localhost without a token, or with a short one, before listening', async () => {
    // A port held here: were the check missing (or after listen), the CLI would fail with EADDRINUSE, never serve.
    const held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '0.0.0.0', resolve));
    const port = String((held.address() as AddressInfo).port);
    try {
      const open = await runCli(['codec-server', '--port', port, '--host', '0.0.0.0'], { TIDEMARK_ENCRYPTION_KEY: key, TIDEMARK_CODEC_TOKEN: '' });
      expect(open.code).not.toBe(0);
      expect(open.stderr).toMatch(/binding to 0\.0\.0\.0 .*set TIDEMARK_CODEC_TOKEN/);
      const weak = await runCli(['codec-server', '--port', port, '--host', '0.0.0.0'], { TIDEMARK_ENCRYPTION_KEY: key, TIDEMARK_CODEC_TOKEN: 'short' });
      expect(weak.code).not.toBe(0);
      expect(weak.stderr).toMatch(/TIDEMARK_CODEC_TOKEN is 5 characters long: use at least 16/);
    } finally {
      held.close();
    }
  });
});

/** A request with a chosen Host header (fetch picks its own), as a DNS-rebinding page's browser would send. */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // No host header given: send none at all.
    const req = request({ host: '127.0.0.1', port, method, path, setHost: 'host' in headers, headers: { 'content-type': 'text/plain', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function listen(opts: { token?: string }): Promise<{ server: Server; port: number }> {
  const server = createCodecServer({ codec: new AesGcmCodec(parseKey(key)), origins: [ui], ...opts });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('codec server Host check (DNS rebinding)', () => {
  it('without a token, serves only loopback Host names, preflights included', async () => {
    const { server, port } = await listen({});
    try {
      const [secret] = await new AesGcmCodec(parseKey(key)).encode([defaultPayloadConverter.toPayload('the plaintext')]);
      const payload = JSON.stringify({ payloads: [asJson(secret as Payload)] });
      for (const host of ['evil.example', `evil.example:${port}`, '127.attacker.example']) {
        const r = await raw(port, 'POST', '/decode', { host, origin: 'http://evil.example' }, payload);
        expect(r.status, host).toBe(403);
        expect(r.body).not.toContain(Buffer.from('the plaintext').toString('base64'));
        expect(JSON.parse(r.body)).toEqual({ error: expect.stringMatching(/refused: without TIDEMARK_CODEC_TOKEN only localhost names/) });
      }
      expect((await raw(port, 'POST', '/decode', {}, payload)).status).toBe(400); // no Host at all: node itself refuses
      expect((await raw(port, 'POST', '/encode', { host: 'evil.example' }, payload)).status).toBe(403);
      expect((await raw(port, 'OPTIONS', '/decode', { host: 'evil.example', origin: ui, 'access-control-request-method': 'POST' })).status).toBe(403);

      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, '[::1]']) {
        const r = await raw(port, 'POST', '/decode', { host }, payload);
        expect(r.status, host).toBe(200);
        const [decoded] = (JSON.parse(r.body) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
        expect(defaultPayloadConverter.fromPayload(fromJson(decoded as { metadata: Record<string, string>; data: string }))).toBe('the plaintext');
      }
      expect((await raw(port, 'OPTIONS', '/decode', { host: `localhost:${port}`, origin: ui, 'access-control-request-method': 'POST' })).status).toBe(204);
    } finally {
      server.close();
    }
  });

  it('with a token, any Host is served, but only with the bearer', async () => {
    const { server, port } = await listen({ token });
    try {
      const body = JSON.stringify({ payloads: [] });
      expect((await raw(port, 'POST', '/decode', { host: 'codec.internal.example' }, body)).status).toBe(401);
      expect((await raw(port, 'POST', '/decode', { host: 'codec.internal.example', authorization: 'Bearer nope' }, body)).status).toBe(401);
      expect((await raw(port, 'POST', '/decode', { host: 'codec.internal.example', authorization: `Bearer ${token}` }, body)).status).toBe(200);
      expect((await raw(port, 'POST', '/encode', { host: `localhost:${port}`, authorization: `Bearer ${token}` }, body)).status).toBe(200);
    } finally {
      server.close();
    }
  });
});
