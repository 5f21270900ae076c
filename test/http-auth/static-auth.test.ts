import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpAuthSchema } from '../../src/config/http-auth-schema';
import { MissingEnvError } from '../../src/config/env-refs';
import { isPermanent } from '../../src/errors';
import { createAuth, CredentialsRefusedError } from '../../src/sources/http/auth';
import { authedGet } from './helpers';
import { startOAuthServer, type OAuthServer } from './oauth-server';

let server: OAuthServer;
beforeAll(async () => {
  server = await startOAuthServer();
});
afterAll(() => server.close());

const env = { API_USER: 'ann@example.com', API_PASSWORD: 'pä:ss-word', API_TOKEN: 'tok-Zx81qv', API_KEY: 'key-Q9w8e7' };
const ctx = { integration: 'api', env };
type Echo = { headers: Record<string, string>; query: Record<string, string> };

async function echo(auth: unknown): Promise<Echo> {
  const a = createAuth(httpAuthSchema.parse(auth), ctx);
  const r = await authedGet(a, `${server.url}/echo?page=2`);
  return r.body as Echo;
}

describe('basic, bearer and api_key', () => {
  it('basic: an RFC 7617 Authorization header, replacing any other spelling of it', async () => {
    const a = createAuth(httpAuthSchema.parse({ type: 'basic', username: '${API_USER}', password: '${API_PASSWORD}' }), ctx);
    const req = { url: new URL(`${server.url}/echo`), headers: { authorization: 'stale' } as Record<string, string> };
    await a.apply(req);
    expect(req.headers).toEqual({ Authorization: `Basic ${Buffer.from('ann@example.com:pä:ss-word').toString('base64')}` });
    const got = await echo({ type: 'basic', username: '${API_USER}', password: '${API_PASSWORD}' });
    expect(got.headers.authorization).toBe(`Basic ${Buffer.from('ann@example.com:pä:ss-word', 'utf8').toString('base64')}`);
  });

  it('bearer: Authorization: Bearer <token>', async () => {
    expect((await echo({ type: 'bearer', token: '${API_TOKEN}' })).headers.authorization).toBe('Bearer tok-Zx81qv');
  });

  it('api_key in a header or in the query string, next to the other parameters', async () => {
    const h = await echo({ type: 'api_key', in: 'header', name: 'X-API-Key', value: '${API_KEY}' });
    expect(h.headers['x-api-key']).toBe('key-Q9w8e7');
    expect(h.query).toEqual({ page: '2' });
    const q = await echo({ type: 'api_key', in: 'query', name: 'api_key', value: '${API_KEY}' });
    expect(q.query).toEqual({ page: '2', api_key: 'key-Q9w8e7' });
    expect(q.headers.authorization).toBeUndefined();
  });

  it('a 401 is not retried (a fixed credential cannot change) and fails non-retryable without the secret', async () => {
    const a = createAuth(httpAuthSchema.parse({ type: 'bearer', token: '${API_TOKEN}' }), ctx);
    expect(await a.onUnauthorized()).toBe(false);
    const err = await authedGet(a, `${server.url}/resource`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsRefusedError);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toMatch(/401 Unauthorized: the API refused the credentials of source.auth \(type bearer\)/);
    expect((err as Error).message).not.toContain('tok-Zx81qv');
    expect(server.resourceRequests.map((r) => r.status)).toEqual([401]);
  });

  it('redact() masks the secrets it sends (also URL-encoded)', () => {
    const a = createAuth(httpAuthSchema.parse({ type: 'basic', username: 'u', password: '${API_PASSWORD}' }), ctx);
    expect(a.redact(`pw=pä:ss-word and ${encodeURIComponent('pä:ss-word')}`)).toBe('pw=*** and ***');
    const k = createAuth(httpAuthSchema.parse({ type: 'api_key', in: 'query', name: 'api_key', value: '${API_KEY}' }), ctx);
    expect(k.redact(`${server.url}/echo?api_key=key-Q9w8e7`)).toBe(`${server.url}/echo?api_key=***`);
  });

  it('a variable missing from the environment is named with its field', () => {
    const cfg = httpAuthSchema.parse({ type: 'basic', username: 'u', password: '${NOT_SET_PW}' });
    expect(() => createAuth(cfg, { integration: 'api', env: {} })).toThrow(MissingEnvError);
    expect(() => createAuth(cfg, { integration: 'api', env: {} })).toThrow(/source.auth.password refers to \$\{NOT_SET_PW\}, but NOT_SET_PW is not set/);
  });

  it('no auth adds nothing', async () => {
    const a = createAuth(undefined, ctx);
    const req = { url: new URL(`${server.url}/echo`), headers: {} };
    await a.apply(req);
    expect(req).toEqual({ url: new URL(`${server.url}/echo`), headers: {} });
    expect(await a.onUnauthorized()).toBe(false);
  });
});
