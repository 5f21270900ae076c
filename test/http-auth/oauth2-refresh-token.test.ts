import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpAuthSchema } from '../../src/config/http-auth-schema';
import { isPermanent } from '../../src/errors';
import { AuthConfigError, createAuth, createTokenCache, OAuthTokenRefusedError, TokenStoreKeyError, type TokenCache } from '../../src/sources/http/auth';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { authedGet, migrated, newKey } from './helpers';
import { startOAuthServer, type OAuthServer, type OAuthServerOptions } from './oauth-server';

const SECRET = 'cs-Very$ecret/42';
let db: TestDatabase;
const servers: OAuthServer[] = [];
beforeAll(async () => {
  db = await createTestDatabase('http_auth_rt');
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

const CFG = httpAuthSchema.parse({ type: 'oauth2', grant: 'refresh_token', tokenUrl: '${TOKEN_URL}', clientId: 'tidemark-client', clientSecret: '${CLIENT_SECRET}', refreshToken: '${REFRESH_TOKEN}' });

/** One worker's auth for `integration` (its own token cache plays its own process). */
function worker(s: OAuthServer, integration: string, refreshToken: string, key: string, cache: TokenCache = createTokenCache()) {
  return createAuth(CFG, { integration, stateDbUrl: db.url, cache, env: { TOKEN_URL: `${s.url}/token`, CLIENT_SECRET: SECRET, REFRESH_TOKEN: refreshToken, TIDEMARK_ENCRYPTION_KEY: key } });
}

async function storedRow(integration: string): Promise<Record<string, string>> {
  const rows = await sql<Record<string, string>>(db.url, `SELECT encode(refresh_token_ciphertext, 'escape') AS r, encode(access_token_ciphertext, 'escape') AS a, encode(refresh_token_ciphertext, 'hex') AS rh FROM tidemark.oauth_tokens WHERE integration = $1`, [integration]);
  return rows[0] as Record<string, string>;
}

describe('OAuth2 refresh token grant', () => {
  it('stores the rotated refresh token encrypted, and a second worker refreshes with it', async () => {
    const s = await server({ lifetime: 1 });
    const key = newKey();
    const seed = s.authorize();
    expect((await authedGet(worker(s, 'rot', seed, key), `${s.url}/resource`)).status).toBe(200);
    expect(s.validRefreshTokens()).not.toContain(seed); // rotated: the config's token is spent
    const [rotated] = s.validRefreshTokens() as [string];
    const row = await storedRow('rot');
    for (const clear of [seed, rotated, ...s.issuedAccessTokens]) {
      expect(row.r).not.toContain(clear);
      expect(row.a).not.toContain(clear);
      expect(row.rh).not.toContain(Buffer.from(clear).toString('hex'));
    }
    await new Promise((r) => setTimeout(r, 900)); // the access token is due for refresh
    // A second worker, same config (the spent seed in its environment), empty cache.
    expect((await authedGet(worker(s, 'rot', seed, key), `${s.url}/resource`)).status).toBe(200);
    expect(s.tokenRequests.map((t) => t.params.refresh_token)).toEqual([seed, rotated]);
    expect(s.resourceRequests.map((r) => r.status)).toEqual([200, 200]);
  });

  it('a server that does not rotate: the same refresh token is kept and stored', async () => {
    const s = await server({ lifetime: 1, rotate: false });
    const key = newKey();
    const seed = s.authorize();
    await authedGet(worker(s, 'norotate', seed, key), `${s.url}/resource`);
    await new Promise((r) => setTimeout(r, 900));
    await authedGet(worker(s, 'norotate', seed, key), `${s.url}/resource`);
    expect(s.tokenRequests.map((t) => t.params.refresh_token)).toEqual([seed, seed]);
    expect((await storedRow('norotate')).r).not.toContain(seed);
  });

  it('two workers refreshing at once send one token request (row lock), never a spent refresh token', async () => {
    const s = await server({ tokenDelayMs: 300, lifetime: 1 });
    const key = newKey();
    const seed = s.authorize();
    // The first refresh of an integration (no row yet), then a refresh of stored tokens, both raced by two workers.
    for (const round of [1, 2]) {
      const [a, b] = [worker(s, 'race', seed, key), worker(s, 'race', seed, key)];
      const results = await Promise.all([authedGet(a, `${s.url}/resource`), authedGet(b, `${s.url}/resource`)]);
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      expect(s.tokenRequests).toHaveLength(round);
      await new Promise((r) => setTimeout(r, 900)); // the access token is due for refresh
    }
  });

  it('one worker: concurrent requests share one refresh (single flight in process)', async () => {
    const s = await server({ tokenDelayMs: 100 });
    const cache = createTokenCache();
    const seed = s.authorize();
    const key = newKey();
    const auths = [1, 2, 3, 4].map(() => worker(s, 'inproc', seed, key, cache));
    await Promise.all(auths.map((a) => authedGet(a, `${s.url}/resource`)));
    expect(s.tokenRequests).toHaveLength(1);
  });

  it('on a 401, refreshes with the stored token once', async () => {
    const s = await server();
    const key = newKey();
    const seed = s.authorize();
    const a = worker(s, 'revoked', seed, key);
    await authedGet(a, `${s.url}/resource`);
    s.revokeAccessTokens();
    expect((await authedGet(a, `${s.url}/resource`)).status).toBe(200);
    expect(s.resourceRequests.map((r) => r.status)).toEqual([200, 401, 200]);
    expect(s.tokenRequests).toHaveLength(2);
    expect(s.tokenRequests[1]?.params.refresh_token).not.toBe(seed);
  });

  it('a rotated token whose save failed is kept in the process and stored by the next refresh', async () => {
    const s = await server({ lifetime: 1 });
    const key = newKey();
    const seed = s.authorize();
    const cache = createTokenCache();
    // The state database drops the refreshing connection after the server rotated the token, before the commit.
    s.beforeNextAnswer = async () => {
      await sql(db.url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tidemark-oauth' AND datname = current_database()`);
    };
    await expect(authedGet(worker(s, 'lost', seed, key, cache), `${s.url}/resource`)).rejects.toThrow();
    expect(s.validRefreshTokens()).not.toContain(seed);
    // The retry in the same process uses the token it holds, and stores the next one.
    expect((await authedGet(worker(s, 'lost', seed, key, cache), `${s.url}/resource`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 900));
    expect((await authedGet(worker(s, 'lost', seed, key), `${s.url}/resource`)).status).toBe(200);
    expect(s.tokenRequests.map((t) => t.params.refresh_token).slice(0, 1)).toEqual([seed]);
    expect(s.tokenRequests).toHaveLength(3);
  });

  it('a new refresh token in the config (the app authorized again) replaces the stored one', async () => {
    const s = await server({ lifetime: 1 });
    const key = newKey();
    await authedGet(worker(s, 'reauth', s.authorize(), key), `${s.url}/resource`);
    await new Promise((r) => setTimeout(r, 900));
    const fresh = s.authorize();
    await authedGet(worker(s, 'reauth', fresh, key), `${s.url}/resource`);
    expect(s.tokenRequests[1]?.params.refresh_token).toBe(fresh);
  });

  it('a refused refresh token fails non-retryable, naming the variable to set, without the token', async () => {
    const s = await server();
    const err = await authedGet(worker(s, 'bad', 'rt-never-issued', newKey()), `${s.url}/resource`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthTokenRefusedError);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toMatch(/\(400 invalid_grant\): the refresh token was refused .* put its new refresh token in \$\{REFRESH_TOKEN\}/);
    expect((err as Error).message).not.toContain('rt-never-issued');
  });

  it('without TIDEMARK_ENCRYPTION_KEY (or a state database) refuses to refresh, before spending the refresh token', async () => {
    const s = await server();
    const seed = s.authorize();
    const env = { TOKEN_URL: `${s.url}/token`, CLIENT_SECRET: SECRET, REFRESH_TOKEN: seed };
    const noKey = createAuth(CFG, { integration: 'nokey', stateDbUrl: db.url, env, cache: createTokenCache() });
    const err = await authedGet(noKey, `${s.url}/resource`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthConfigError);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toMatch(/^source.auth.grant: refresh_token: .*\$\{REFRESH_TOKEN\} stops working.*set TIDEMARK_ENCRYPTION_KEY/);
    const noDb = createAuth(CFG, { integration: 'nodb', env: { ...env, TIDEMARK_ENCRYPTION_KEY: newKey() }, cache: createTokenCache() });
    await expect(authedGet(noDb, `${s.url}/resource`)).rejects.toThrow(/source.auth.grant: refresh_token stores .* in the state database, but the source was given none/);
    expect(s.tokenRequests).toHaveLength(0);
    expect(s.validRefreshTokens()).toEqual([seed]);
  });

  it('a stored refresh token under another key: a clear error, nothing overwritten', async () => {
    const s = await server({ lifetime: 1 });
    const seed = s.authorize();
    await authedGet(worker(s, 'rekey', seed, newKey()), `${s.url}/resource`);
    const before = await storedRow('rekey');
    await new Promise((r) => setTimeout(r, 900));
    const err = await authedGet(worker(s, 'rekey', seed, newKey()), `${s.url}/resource`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenStoreKeyError);
    expect((err as Error).message).toMatch(/encrypted with key \w+, but TIDEMARK_ENCRYPTION_KEY is key \w+: set the previous key again/);
    expect(await storedRow('rekey')).toEqual(before);
    expect(s.tokenRequests).toHaveLength(1);
  });
});
