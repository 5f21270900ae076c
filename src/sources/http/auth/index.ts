export { createAuth } from './create-auth';
export type { AuthContext, AuthRequest, HttpAuth } from './http-auth';
export { AuthConfigError, CredentialsRefusedError, OAuthTokenRefusedError, OAuthTokenUnavailableError, TokenStoreKeyError } from './auth-errors';
export { clearTokenCache, createTokenCache, workerTokenCache, type TokenCache } from './token-cache';
