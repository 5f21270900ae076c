import { PermanentError } from '../../../errors';

/** The auth config cannot work as written (an http:// token URL off this machine, a missing state database or key). */
export class AuthConfigError extends PermanentError {
  override readonly name = 'AuthConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`source.auth.${field}: ${message}`);
  }
}

/** The token endpoint refused the client or the refresh token: retrying cannot fix it, a person must. */
export class OAuthTokenRefusedError extends PermanentError {
  override readonly name = 'OAuthTokenRefusedError';
  constructor(
    readonly tokenUrl: string,
    readonly status: number | undefined,
    readonly oauthError: string | undefined,
    hint: string,
  ) {
    super(`source.auth: the token endpoint ${tokenUrl} refused the request${status ? ` (${status}${oauthError ? ` ${oauthError}` : ''})` : ''}: ${hint}`);
  }
}

/** Retryable: the token endpoint was unreachable or failed (5xx, 429, timeout); the run retries from its checkpoint. */
export class OAuthTokenUnavailableError extends Error {
  override readonly name = 'OAuthTokenUnavailableError';
  constructor(
    readonly tokenUrl: string,
    readonly attempts: number,
    readonly lastReason: string,
  ) {
    super(`source.auth: no token from ${tokenUrl} after ${attempts} attempts (last: ${lastReason}); the run is retried from its checkpoint`);
  }
}

/** The stored tokens cannot be read or written with this worker's TIDEMARK_ENCRYPTION_KEY. */
export class TokenStoreKeyError extends PermanentError {
  override readonly name = 'TokenStoreKeyError';
}

/**
 * For the HTTP client: the API answered 401 and a fresh credential could not help (onUnauthorized()
 * returned false). Non-retryable; the message names what to check.
 */
export class CredentialsRefusedError extends PermanentError {
  override readonly name = 'CredentialsRefusedError';
  constructor(
    readonly url: string,
    readonly authType: string,
    readonly method: string = 'GET',
  ) {
    super(`${method} ${url} → 401 Unauthorized: ${refusedHint(authType)}`);
  }
}

function refusedHint(authType: string): string {
  if (authType === 'none') return 'the API wants credentials: add source.auth (or a credential header with a ${NAME} value)';
  if (authType === 'oauth2') return 'the API refused the credentials of source.auth (type oauth2) even with a freshly issued access token: check source.auth.scopes/audience and that the client may read this endpoint';
  return `the API refused the credentials of source.auth (type ${authType}): check the \${NAME} values of source.auth in the worker environment`;
}
