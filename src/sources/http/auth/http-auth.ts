import type { TokenCache } from './token-cache';
import { makeRedactor } from '../redact';

/** The request about to be sent: apply() adds the credential to its headers or its URL. */
export interface AuthRequest {
  url: URL;
  headers: Record<string, string>;
}

/**
 * The credential of an HTTP source. The client calls apply() before every attempt of every request,
 * and onUnauthorized() once when a request comes back 401: true means "retry it, with apply() again";
 * false means a fresh credential cannot help, so the run fails (CredentialsRefusedError).
 */
export interface HttpAuth {
  readonly type: 'none' | 'basic' | 'bearer' | 'api_key' | 'oauth2';
  apply(request: AuthRequest, signal?: AbortSignal): Promise<void>;
  onUnauthorized(): Promise<boolean>;
  /** Masks every credential this auth has sent or received (secrets and tokens), for messages and logs. */
  redact(text: string): string;
}

/** What the source knows when it builds its auth (all of it in the worker, none in workflow history). */
export interface AuthContext {
  /** the integration id: OAuth2 tokens are cached, stored and refreshed per integration */
  integration: string;
  /** where ${NAME} references are resolved (the worker's environment); TIDEMARK_ENCRYPTION_KEY comes from here too */
  env?: NodeJS.ProcessEnv;
  /** the state database (tidemark.oauth_tokens); required by grant refresh_token */
  stateDbUrl?: string;
  /** per token request (default 30 s) */
  timeoutMs?: number;
  /** default: the worker's cache (tests pass their own to play a second worker) */
  cache?: TokenCache;
}

/** Sets a header, replacing any spelling of it already there (a second "Authorization" would be joined with a comma). */
export function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) delete headers[k];
  headers[name] = value;
}

/** Replaces each secret (and its URL-encoded form) with ***; longest first, so no part of one leaks. */
export function maskAll(text: string, secrets: Iterable<string>): string {
  return makeRedactor([...secrets])(text);
}
