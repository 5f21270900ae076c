import { PermanentError } from '../../errors';

/**
 * A response that retrying cannot fix (400, 401, 403, 404, …): the run fails at once, non-retryable,
 * with the status and the URL (secrets masked) and a hint at the config field to look at.
 */
export class HttpStatusError extends PermanentError {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly url: string,
    body: string,
    readonly method: string = 'GET',
  ) {
    super(`${method} ${url} → ${status}${statusHint(status)}${body ? `; the API said: ${body}` : ''}`);
  }
}

/** The API answered, but not in the shape the config describes (records path, cursor field, order): fix the config. */
export class HttpSourceError extends PermanentError {
  override readonly name = 'HttpSourceError';
  constructor(
    readonly field: string,
    message: string,
    readonly url?: string,
    method = 'GET',
  ) {
    super(`source.${field}: ${message}${url ? ` (${method} ${url})` : ''}`);
  }
}

/**
 * The API answered 200 with an error that says it refuses the credentials (Slack: `{"ok": false, "error":
 * "token_revoked"}`), listed in `source.responses.authErrors`: like a 401, an instance becomes needs_reauth.
 */
export class ApiCredentialsRefusedError extends PermanentError {
  override readonly name = 'ApiCredentialsRefusedError';
  constructor(
    readonly apiError: string,
    readonly url: string,
    method = 'GET',
  ) {
    super(`${method} ${url} → the API refuses the credentials: ${apiError} (source.responses.authErrors): check source.auth / source.headers (their \${NAME} values in the worker's environment), or the customer re-authorizes`);
  }
}

/** Retryable: the request kept failing (5xx, 429, timeouts, resets, broken bodies); the activity retries from the checkpoint. */
export class HttpRetriesExhaustedError extends Error {
  override readonly name = 'HttpRetriesExhaustedError';
  constructor(
    readonly url: string,
    readonly attempts: number,
    readonly lastReason: string,
    readonly method: string = 'GET',
  ) {
    super(`${method} ${url} failed ${attempts} times (last: ${lastReason}); the run is retried from its checkpoint`);
  }
}

function statusHint(status: number): string {
  switch (status) {
    case 401:
      return ' Unauthorized: check the credentials in source.headers (their ${NAME} values in the worker environment)';
    case 403:
      return ' Forbidden: the credentials in source.headers lack access to this endpoint';
    case 404:
      return ' Not Found: check source.url';
    case 400:
    case 422:
      return ' Bad Request: check source.params and source.pagination (parameter names and values)';
    default:
      return '';
  }
}
