import * as oauth from 'oauth4webapi';
import { sleep } from '../../../util/sleep';
import { OAuthTokenRefusedError, OAuthTokenUnavailableError } from './auth-errors';

export interface TokenEndpoint {
  tokenUrl: URL;
  /** the URL as shown in errors (no query string) */
  shownUrl: string;
  clientId: string;
  clientSecret: string;
  clientAuth: 'basic' | 'body';
  scopes: string[];
  audience?: string;
  timeoutMs: number;
  redact: (text: string) => string;
  /** hint for a refused refresh token, naming the config variable */
  refreshHint: string;
}

export interface IssuedToken {
  accessToken: string;
  /** seconds, when the server says */
  expiresIn?: number;
  /** a new refresh token when the server rotates it */
  refreshToken?: string;
}

const ATTEMPTS = 3;

/**
 * One token request (client_credentials, or refresh_token with `refreshToken`) through oauth4webapi,
 * retried twice on network errors, timeouts, 429 and 5xx. Refusals (invalid_client, invalid_grant, …)
 * throw OAuthTokenRefusedError at once: retrying cannot fix them. Messages never hold a secret.
 */
export async function requestToken(e: TokenEndpoint, refreshToken?: string): Promise<IssuedToken> {
  const as: oauth.AuthorizationServer = { issuer: e.tokenUrl.origin, token_endpoint: e.tokenUrl.href };
  const client: oauth.Client = { client_id: e.clientId };
  const clientAuth = e.clientAuth === 'body' ? oauth.ClientSecretPost(e.clientSecret) : oauth.ClientSecretBasic(e.clientSecret);
  const params = new URLSearchParams();
  if (e.scopes.length) params.set('scope', e.scopes.join(' '));
  for (let attempt = 1; ; attempt++) {
    // http:// is let through only for loopback token URLs (checked when the auth is created).
    const options = { signal: AbortSignal.timeout(e.timeoutMs), [oauth.allowInsecureRequests]: e.tokenUrl.protocol === 'http:' };
    try {
      if (refreshToken !== undefined) {
        const res = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, { ...options, additionalParameters: params });
        return issued(await oauth.processRefreshTokenResponse(as, client, res), e);
      }
      if (e.audience !== undefined) params.set('audience', e.audience);
      const res = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, params, options);
      return issued(await oauth.processClientCredentialsResponse(as, client, res), e);
    } catch (err) {
      const last = retryableReason(err, e);
      if (attempt >= ATTEMPTS) throw new OAuthTokenUnavailableError(e.shownUrl, attempt, last);
      await sleep(300 * 3 ** (attempt - 1));
    }
  }
}

function issued(r: oauth.TokenEndpointResponse, e: TokenEndpoint): IssuedToken {
  if (r.token_type !== 'bearer') throw new OAuthTokenRefusedError(e.shownUrl, undefined, undefined, `the token endpoint issued a ${r.token_type} token; tidemark sends bearer tokens only`);
  return { accessToken: r.access_token, expiresIn: r.expires_in, refreshToken: r.refresh_token };
}

/** The reason to try again, or throws the permanent error the failure is. */
function retryableReason(err: unknown, e: TokenEndpoint): string {
  if (err instanceof OAuthTokenRefusedError) throw err;
  const status = statusOf(err);
  if (status !== undefined && status !== 429 && status !== 408 && status < 500) throw refused(err, status, e);
  if (err instanceof oauth.ResponseBodyError) return e.redact(`${status} ${err.error}`);
  if (status !== undefined) return `${status} from the token endpoint`;
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    throw new OAuthTokenRefusedError(e.shownUrl, undefined, undefined, `the answer is not a usable OAuth2 token response (${e.redact(err.message)}): is source.auth.tokenUrl the token endpoint?`);
  }
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no response within ${e.timeoutMs}ms (timeout)`;
  const c = (err as { cause?: { code?: string } }).cause;
  return e.redact(`${err instanceof Error ? err.message : String(err)}${c?.code ? ` (${c.code})` : ''}`);
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.WWWAuthenticateChallengeError) return err.status;
  const cause = (err as { cause?: unknown }).cause;
  // A 200 that is not a token response is a wrong URL, not a refusal.
  if (err instanceof oauth.OperationProcessingError && cause instanceof Response && cause.status >= 400) return cause.status;
  return undefined;
}

function refused(err: unknown, status: number, e: TokenEndpoint): OAuthTokenRefusedError {
  const code = err instanceof oauth.ResponseBodyError ? err.error : status === 401 ? 'invalid_client' : undefined;
  const said = err instanceof oauth.ResponseBodyError && err.error_description ? ` (the server said: ${e.redact(err.error_description.slice(0, 200))})` : '';
  return new OAuthTokenRefusedError(e.shownUrl, status, code, `${hintFor(code, e)}${said}`);
}

function hintFor(code: string | undefined, e: TokenEndpoint): string {
  switch (code) {
    case 'invalid_client':
      return `the client credentials were refused: check source.auth.clientId and the value of source.auth.clientSecret's variable in the worker environment${e.clientAuth === 'basic' ? ' (or try clientAuth: body, if the server wants them in the form body)' : ''}`;
    case 'invalid_grant':
      return e.refreshHint;
    case 'invalid_scope':
      return 'check source.auth.scopes: the server does not grant them to this client';
    case 'unauthorized_client':
      return 'this client may not use this grant: check source.auth.grant and the app settings at the provider';
    default:
      return 'check source.auth (tokenUrl, clientId, clientSecret, grant)';
  }
}
