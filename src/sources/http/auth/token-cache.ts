/**
 * Access tokens per worker process, keyed by integration + token URL + client id, with the refresh in
 * flight for each key, so concurrent requests of one worker share one token and one refresh.
 */
export interface CachedToken {
  accessToken: string;
  /** when the server says it expires; undefined: it did not say (used until a 401) */
  expiresAt?: number;
  /** when to refresh it, a margin before expiresAt */
  refreshAt?: number;
}

export interface TokenCache {
  readonly tokens: Map<string, CachedToken>;
  readonly inflight: Map<string, Promise<CachedToken>>;
  /** a rotated refresh token this process received but could not store yet (the state database failed): the next refresh uses it */
  readonly unsavedRefresh: Map<string, string>;
}

export function createTokenCache(): TokenCache {
  return { tokens: new Map(), inflight: new Map(), unsavedRefresh: new Map() };
}

/** The worker's cache, shared by every integration and run of the process. */
export const workerTokenCache: TokenCache = createTokenCache();

/** Forget every cached token (tests; a worker never needs it). */
export function clearTokenCache(cache: TokenCache = workerTokenCache): void {
  cache.tokens.clear();
}

export function tokenCacheKey(integration: string, tokenUrl: string, clientId: string): string {
  return [integration, tokenUrl, clientId].join('\0');
}

const MAX_MARGIN_MS = 60_000;

/** Refresh 60 s before expiry, or after three quarters of a shorter lifetime. */
export function refreshTime(issuedAt: number, expiresAt: number | undefined): number | undefined {
  if (expiresAt === undefined) return undefined;
  return expiresAt - Math.min(MAX_MARGIN_MS, Math.max(0, expiresAt - issuedAt) / 4);
}

export function isFresh(t: CachedToken | undefined, now = Date.now()): t is CachedToken {
  return t !== undefined && (t.refreshAt === undefined || now < t.refreshAt);
}
