import type { OAuth2AuthConfig } from '../../../config/http-auth-schema';
import { envRefsIn, resolveEnvRefs } from '../../../config/env-refs';
import { AuthConfigError, TokenStoreKeyError } from './auth-errors';
import { maskAll, setHeader, type AuthContext, type HttpAuth } from './http-auth';
import { isFresh, refreshTime, tokenCacheKey, workerTokenCache, type CachedToken } from './token-cache';
import { tokenCipherFromEnv, type TokenCipher } from './token-cipher';
import { requestToken, type IssuedToken, type TokenEndpoint } from './token-endpoint';
import { rowAad, type TokenRowKey } from './token-row';
import { withLockedTokenRow } from './token-store';

/**
 * OAuth2 client credentials and refresh token grants. Access tokens are cached per worker and
 * refreshed before they expire (single-flight per integration within the process); with a state
 * database and TIDEMARK_ENCRYPTION_KEY, every refresh runs under the token row's lock and stores the
 * tokens encrypted, so workers share them and a rotated refresh token is never used twice or lost.
 */
export function createOAuth2Auth(cfg: OAuth2AuthConfig, ctx: AuthContext): HttpAuth {
  const env = ctx.env ?? process.env;
  const tokenUrl = parseTokenUrl(resolveEnvRefs(cfg.tokenUrl, 'source.auth.tokenUrl', env));
  const clientId = resolveEnvRefs(cfg.clientId, 'source.auth.clientId', env);
  const clientSecret = resolveEnvRefs(cfg.clientSecret, 'source.auth.clientSecret', env);
  const seed = cfg.refreshToken === undefined ? undefined : resolveEnvRefs(cfg.refreshToken, 'source.auth.refreshToken', env);
  const seedVar = cfg.refreshToken === undefined ? 'OAUTH_REFRESH_TOKEN' : (envRefsIn(cfg.refreshToken)[0] ?? 'OAUTH_REFRESH_TOKEN');
  const cipher = tokenCipherFromEnv(env);
  // Checked at the first refresh, not here: building a source that never asks for a token (a cursor check) needs neither.
  const refreshTokenSetup = (): AuthConfigError | undefined => {
    if (seed === undefined) return undefined;
    if (ctx.stateDbUrl === undefined) return new AuthConfigError('grant', 'refresh_token stores the refresh tokens the server rotates in the state database, but the source was given none (DATABASE_URL)');
    if (cipher === undefined) {
      return new AuthConfigError('grant', `refresh_token: the token server may rotate the refresh token, and then the one in \${${seedVar}} stops working, so tidemark must store the new one, encrypted, in the state database: set TIDEMARK_ENCRYPTION_KEY (32 bytes, e.g. \`openssl rand -base64 32\`) on every worker`);
    }
    return undefined;
  };

  // The client's Basic header too (client_secret_basic: base64 of the form-encoded id:secret, RFC 6749 §2.3.1),
  // which a token endpoint may echo in an error body.
  const basic = [`${clientId}:${clientSecret}`, `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`].map((s) => Buffer.from(s).toString('base64'));
  const secrets = new Set<string>([clientSecret, ...basic, ...(seed ? [seed] : [])]);
  const redact = (text: string) => maskAll(text, secrets);
  const endpoint: TokenEndpoint = {
    tokenUrl,
    shownUrl: `${tokenUrl.origin}${tokenUrl.pathname}`,
    clientId,
    clientSecret,
    clientAuth: cfg.clientAuth,
    scopes: cfg.scopes,
    audience: cfg.audience,
    timeoutMs: ctx.timeoutMs ?? 30_000,
    redact,
    refreshHint: `the refresh token was refused (expired, revoked, or already spent): authorize the app again and put its new refresh token in \${${seedVar}}; tidemark then uses it instead of the one it stored`,
  };
  const rowKey: TokenRowKey = { integration: ctx.integration, tokenUrl: tokenUrl.href, clientId };
  const cacheKey = tokenCacheKey(ctx.integration, tokenUrl.href, clientId);
  const cache = ctx.cache ?? workerTokenCache;
  const dbUrl = cipher ? ctx.stateDbUrl : undefined;

  const issue = async (refreshToken?: string): Promise<{ token: CachedToken; issued: IssuedToken }> => {
    const sentAt = Date.now();
    const issued = await requestToken(endpoint, refreshToken);
    for (const s of [issued.accessToken, issued.refreshToken]) if (s) secrets.add(s);
    const expiresAt = issued.expiresIn === undefined ? undefined : sentAt + issued.expiresIn * 1000;
    return { token: { accessToken: issued.accessToken, expiresAt, refreshAt: refreshTime(sentAt, expiresAt) }, issued };
  };

  /** Under the row lock: a token another worker just stored, or a new one, stored before the lock is released. */
  const refreshShared = (url: string, c: TokenCipher, refused: string | undefined) =>
    withLockedTokenRow(url, rowKey, async (row) => {
      const sameKey = row?.keyId === c.keyId;
      if (seed !== undefined && row?.refreshTokenCiphertext && !sameKey) {
        throw new TokenStoreKeyError(
          `tidemark.oauth_tokens holds the refresh token of integration ${ctx.integration} encrypted with key ${row.keyId}, but TIDEMARK_ENCRYPTION_KEY is key ${c.keyId}: set the previous key again; or authorize the app again, put the new refresh token in \${${seedVar}} and delete the row (DELETE FROM tidemark.oauth_tokens WHERE integration = '${ctx.integration}')`,
        );
      }
      if (row && sameKey && row.accessTokenCiphertext) {
        const accessToken = c.decrypt(row.accessTokenCiphertext, rowAad(rowKey, 'access'));
        secrets.add(accessToken);
        const expiresAt = row.expiresAt?.getTime();
        const stored: CachedToken = { accessToken, expiresAt, refreshAt: refreshTime(row.updatedAt.getTime(), expiresAt) };
        if (accessToken !== refused && isFresh(stored)) return { result: stored };
      }
      let refreshToken: string | undefined;
      let seedHmac: string | null = null;
      if (seed !== undefined) {
        // A refresh token in the config that differs from the one the row started from is a new authorization: it wins.
        seedHmac = c.fingerprint(seed);
        const storedRefresh = row && sameKey && row.refreshTokenCiphertext && row.seedHmac === seedHmac ? c.decrypt(row.refreshTokenCiphertext, rowAad(rowKey, 'refresh')) : undefined;
        if (storedRefresh) secrets.add(storedRefresh);
        refreshToken = cache.unsavedRefresh.get(cacheKey) ?? storedRefresh ?? seed;
      }
      const { token, issued } = await issue(refreshToken);
      const nextRefresh = issued.refreshToken ?? refreshToken;
      // The server has spent the old refresh token: until the new one is committed, this process holds the only copy.
      if (nextRefresh !== undefined) cache.unsavedRefresh.set(cacheKey, nextRefresh);
      return {
        result: token,
        save: {
          refreshTokenCiphertext: nextRefresh === undefined ? null : c.encrypt(nextRefresh, rowAad(rowKey, 'refresh')),
          accessTokenCiphertext: c.encrypt(token.accessToken, rowAad(rowKey, 'access')),
          expiresAt: token.expiresAt === undefined ? null : new Date(token.expiresAt),
          keyId: c.keyId,
          seedHmac,
        },
      };
    });

  /** One refresh per key at a time in this process; `refused`: a token the API refused, never to be reused. */
  const refresh = (refused: string | undefined): Promise<CachedToken> => {
    const running = cache.inflight.get(cacheKey);
    if (running) return running;
    const unusable = refreshTokenSetup();
    if (unusable) return Promise.reject(unusable);
    const work =
      dbUrl && cipher
        ? refreshShared(dbUrl, cipher, refused).then((t) => {
            cache.unsavedRefresh.delete(cacheKey);
            return t;
          })
        : issue().then((r) => r.token);
    const p = work
      .then((t) => {
        cache.tokens.set(cacheKey, t);
        return t;
      })
      .finally(() => cache.inflight.delete(cacheKey));
    cache.inflight.set(cacheKey, p);
    return p;
  };

  let lastApplied: string | undefined;
  return {
    type: 'oauth2',
    async apply(req, signal) {
      let t = cache.tokens.get(cacheKey);
      if (!isFresh(t)) t = await untilAborted(refresh(undefined), signal);
      lastApplied = t.accessToken;
      setHeader(req.headers, 'Authorization', `Bearer ${t.accessToken}`);
    },
    async onUnauthorized() {
      const refused = lastApplied;
      if (refused === undefined) return false;
      // Another request has a newer token already; else a new one. A token issued in answer to a 401 and refused
      // on that request's second try fails it (the HTTP client tries once more per request: the client lacks
      // access); refused later, after it worked (revoked, rotated, shorter-lived than expires_in said), it is
      // replaced like any other (an acceptance run: the second 401 of a run failed it for good).
      const current = cache.tokens.get(cacheKey);
      if (current && current.accessToken !== refused && isFresh(current)) return true;
      cache.tokens.delete(cacheKey);
      const t = await refresh(refused);
      return t.accessToken !== refused;
    },
    redact,
  };
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

function parseTokenUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AuthConfigError('tokenUrl', 'is not a URL: write the token endpoint, e.g. https://auth.example.com/oauth/token');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AuthConfigError('tokenUrl', `must be an https:// URL, not ${url.protocol}`);
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname)) {
    throw new AuthConfigError('tokenUrl', `is http://${url.host}, which would send the client secret in clear text: use https:// (http:// is accepted for localhost only)`);
  }
  if (url.username || url.password) throw new AuthConfigError('tokenUrl', 'must not hold user:password: put the client in clientId and clientSecret');
  return url;
}

/** Waits for `p`, but gives up when this caller is cancelled (the shared refresh goes on for the others). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** application/x-www-form-urlencoded as oauth4webapi encodes client_secret_basic's parts (also -_.!~*'(), space as +). */
function formUrlEncode(text: string): string {
  return encodeURIComponent(text).replace(/[-_.!~*'()]|%20/g, (c) => (c === '%20' ? '+' : `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
}
