import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpAuthSchema } from '../../src/config/http-auth-schema';
import { toFailure } from '../../src/activities/failures';
import { isPermanent } from '../../src/errors';
import { ApplicationFailure } from '@temporalio/common';
import { AuthConfigError, createAuth, createTokenCache, CredentialsRefusedError, OAuthTokenRefusedError, OAuthTokenUnavailableError, type AuthContext } from '../../src/sources/http/auth';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { authedGet, migrated, newKey } from './helpers';
import { startOAuthServer, type OAuthServer, type OAuthServerOptions } from './oauth-server';

const SECRET = 'cs-Very$ecret/42';
let db: TestDatabase;
const servers: OAuthServer[] = [];
beforeAll(async () => {
  db = await createTestDatabase('http_auth_cc');
  await migrated(db.url);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await db.drop();
});

async function server(o: OAuthServerOptions = {}): Promise<OAuthServer> {
  const s = await startOAuthServer(o);
  servers.push(s);
  return s;
}

function auth(s: OAuthServer, extra: Record<string, unknown> = {}, ctx: Partial<AuthContext> = {}) {
  const cfg = httpAuthSchema.parse({ type: 'oauth2', grant: 'client_credentials', tokenUrl: '${TOKEN_URL}', clientId: 'tidemark-client', clientSecret: '${CLIENT_SECRET}', ...extra });
  return createAuth(cfg, { integration: 'api', env: { TOKEN_URL: `${s.url}/token`, CLIENT_SECRET: SECRET }, cache: createTokenCache(), ...ctx });
}

describe('OAuth2 client credentials', () => {
  it('fetches one token and reuses it for every request, with scopes and audience', async () => {
    const s = await server();
    const a = auth(s, { scopes: ['orders:read', 'customers:read'], audience: 'https://api.example.com' });
    for (let i = 0; i < 5; i++) expect((await authedGet(a, `${s.url}/resource`)).status).toBe(200);
    expect(s.tokenRequests).toEqual([
      { grant: 'client_credentials', clientAuth: 'basic', params: { grant_type: 'client_credentials', scope: 'orders:read customers:read', audience: 'https://api.example.com' } },
    ]);
    expect(s.resourceRequests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    // Tokens it received are masked like the secrets it was given.
    expect(a.redact(`token ${s.issuedAccessTokens[0]}, secret ${SECRET}`)).toBe('token ***, secret ***');
  });

  it('clientAuth: body sends the client in the form body', async () => {
    const s = await server();
    await authedGet(auth(s, { clientAuth: 'body' }), `${s.url}/resource`);
    expect(s.tokenRequests[0]).toMatchObject({ clientAuth: 'body', params: { client_id: 'tidemark-client', client_secret: SECRET } });
  });

  it('refreshes before the token expires, so the API never sees an expired one', async () => {
    const s = await server({ lifetime: 2 });
    const a = auth(s);
    await authedGet(a, `${s.url}/resource`);
    await new Promise((r) => setTimeout(r, 1_600)); // past 3/4 of the lifetime, before its end
    await authedGet(a, `${s.url}/resource`);
    expect(s.tokenRequests).toHaveLength(2);
    expect(s.resourceRequests.map((r) => r.status)).toEqual([200, 200]);
  });

  it('on a 401 gets a new token once and repeats the request', async () => {
    const s = await server();
    const a = auth(s);
    await authedGet(a, `${s.url}/resource`);
    s.revokeAccessTokens();
    expect((await authedGet(a, `${s.url}/resource`)).status).toBe(200);
    expect(s.resourceRequests.map((r) => r.status)).toEqual([200, 401, 200]);
    expect(s.tokenRequests).toHaveLength(2);
    // Refused again later, after it worked (revoked, rotated): replaced again (an acceptance run: the second 401 of a
    // run failed it for good).
    s.revokeAccessTokens();
    expect((await authedGet(a, `${s.url}/resource`)).status).toBe(200);
    expect(s.resourceRequests.map((r) => r.status)).toEqual([200, 401, 200, 401, 200]);
    expect(s.tokenRequests).toHaveLength(3);
  });

  it('a fresh token refused too: the request fails non-retryable after one new token, each time, never a loop', async () => {
    const s = await server();
    const a = auth(s);
    s.refuseAll = true;
    const err = await authedGet(a, `${s.url}/resource`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsRefusedError);
    expect((err as Error).message).toMatch(/even with a freshly issued access token: check source.auth.scopes/);
    expect(s.tokenRequests).toHaveLength(2);
    expect(s.resourceRequests).toHaveLength(2);
    await expect(authedGet(a, `${s.url}/resource`)).rejects.toBeInstanceOf(CredentialsRefusedError);
    expect(s.tokenRequests).toHaveLength(3);
    expect(s.resourceRequests).toHaveLength(4);
  });

  it('a wrong client secret fails at once, non-retryable, naming the fields and not the secret', async () => {
    const s = await server({ clientSecret: 'the-right-one' });
    const err = await authedGet(auth(s), `${s.url}/resource`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthTokenRefusedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/token endpoint http:\/\/127\.0\.0\.1:\d+\/token refused the request \(401 invalid_client\): the client credentials were refused: check source.auth.clientId and .*clientSecret/);
    expect(msg).not.toContain(SECRET);
    expect(msg).not.toContain('the-right-one');
    const failure = toFailure(err) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect([failure.nonRetryable, failure.type]).toEqual([true, 'OAuthTokenRefusedError']);
    expect(s.tokenRequests).toHaveLength(1);
    expect(s.resourceRequests).toHaveLength(0);
  });

  it('a refusal with a WWW-Authenticate challenge, and a token URL that is not a token endpoint, fail clearly', async () => {
    const s = await server({ clientSecret: 'the-right-one', challenge: true });
    const refused = await authedGet(auth(s), `${s.url}/resource`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OAuthTokenRefusedError);
    expect((refused as Error).message).toMatch(/\(401 invalid_client\): the client credentials were refused/);
    const wrong = await authedGet(auth(s, {}, { env: { TOKEN_URL: `${s.url}/login`, CLIENT_SECRET: SECRET } }), `${s.url}/resource`).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(OAuthTokenRefusedError);
    expect((wrong as Error).message).toMatch(/is not a usable OAuth2 token response .*is source.auth.tokenUrl the token endpoint\?/);
    expect((wrong as Error).message).not.toContain(SECRET);
  });

  it('an unavailable token endpoint is retried, then fails retryable', async () => {
    const s = await server();
    s.failNextTokenRequests(503);
    expect((await authedGet(auth(s), `${s.url}/resource`)).status).toBe(200);
    expect(s.tokenRequests).toHaveLength(2);
    s.failNextTokenRequests(503, 502, 500);
    const err = await authedGet(auth(s), `${s.url}/resource`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthTokenUnavailableError);
    expect(isPermanent(err)).toBe(false);
    expect((err as Error).message).toMatch(/no token from http:\/\/127\.0\.0\.1:\d+\/token after 3 attempts \(last: 500/);
  });

  it('shares tokens between workers through the state database when a key is set', async () => {
    const s = await server();
    const key = newKey();
    const worker = () => auth(s, {}, { stateDbUrl: db.url, env: { TOKEN_URL: `${s.url}/token`, CLIENT_SECRET: SECRET, TIDEMARK_ENCRYPTION_KEY: key }, integration: 'shared' });
    await authedGet(worker(), `${s.url}/resource`);
    await authedGet(worker(), `${s.url}/resource`);
    expect(s.tokenRequests).toHaveLength(1);
    expect(s.resourceRequests.map((r) => r.status)).toEqual([200, 200]);
  });

  it('refuses an http:// token URL off this machine (the secret would travel in clear)', async () => {
    const cfg = httpAuthSchema.parse({ type: 'oauth2', grant: 'client_credentials', tokenUrl: 'http://auth.example.com/token', clientId: 'c', clientSecret: '${S}' });
    expect(() => createAuth(cfg, { integration: 'api', env: { S: 'x' } })).toThrow(AuthConfigError);
    expect(() => createAuth(cfg, { integration: 'api', env: { S: 'x' } })).toThrow(/source.auth.tokenUrl: is http:\/\/auth.example.com, which would send the client secret in clear text: use https:\/\//);
  });
});
