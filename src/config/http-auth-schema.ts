import { z } from 'zod';

/**
 * `auth` of an HTTP source (see src/sources/http/auth): basic, bearer, an API key, or OAuth2
 * (client credentials or refresh token). Secret fields must be `${NAME}` references, resolved in the
 * worker only, so no credential sits in the config file, in workflow history or in a cursor.
 */

const ENV_REF = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/;

/** A credential: its value must come from the worker's environment. */
const secret = (example: string) =>
  z
    .string({ error: `must be a \${NAME} reference to a variable of the worker's environment, e.g. "${example}"` })
    .refine((v) => ENV_REF.test(v), `is a credential, so its value must come from the worker's environment: write "${example}" and export the variable where the worker runs (a literal would sit in the config file)`);

const nonEmpty = (what: string) => z.string({ error: `must be ${what}` }).min(1, `must be ${what}`);

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const paramName = /^[A-Za-z0-9_.\-[\]]{1,100}$/;

const basicAuth = z.strictObject({
  type: z.literal('basic'),
  /** a literal or a ${NAME} reference */
  username: nonEmpty('the user name (a literal or a ${NAME} reference)'),
  password: secret('${API_PASSWORD}'),
});

const bearerAuth = z.strictObject({
  type: z.literal('bearer'),
  token: secret('${API_TOKEN}'),
});

const apiKeyAuth = z
  .strictObject({
    type: z.literal('api_key'),
    /** where the key goes: a request header or a query parameter */
    in: z.enum(['header', 'query'], { error: 'must be header or query' }),
    /** the header or query parameter name, e.g. X-API-Key or api_key */
    name: nonEmpty('the name of the header or query parameter carrying the key'),
    value: secret('${API_KEY}'),
  })
  .superRefine((a, ctx) => {
    if (a.in === 'header' && !headerName.test(a.name)) ctx.addIssue({ code: 'custom', path: ['name'], message: 'is not a valid HTTP header name' });
    if (a.in === 'query' && !paramName.test(a.name)) ctx.addIssue({ code: 'custom', path: ['name'], message: 'must be the name of a query parameter (letters, digits, "_", "-", ".", "[", "]")' });
  });

const oauth2Auth = z
  .strictObject({
    type: z.literal('oauth2'),
    grant: z.enum(['client_credentials', 'refresh_token'], { error: 'must be client_credentials or refresh_token' }),
    /** the authorization server's token endpoint (https://, or http:// on this machine only; may be a ${NAME} reference) */
    tokenUrl: nonEmpty('the URL of the token endpoint').refine(
      (u) => /^\$\{/.test(u) || /^https?:\/\//i.test(u),
      'must be an https:// URL of the token endpoint (or start with a ${NAME} reference)',
    ),
    clientId: nonEmpty('the OAuth2 client id (a literal or a ${NAME} reference)'),
    clientSecret: secret('${OAUTH_CLIENT_SECRET}'),
    /** the grant refresh_token: the refresh token the app was given when it was authorized */
    refreshToken: secret('${OAUTH_REFRESH_TOKEN}').optional(),
    /** sent as the space-separated `scope` parameter */
    scopes: z
      .union([z.string(), z.array(nonEmpty('a scope name'))], { error: 'must be a list of scope names (or one space-separated string)' })
      .transform((s) => (typeof s === 'string' ? s.split(/\s+/).filter(Boolean) : s))
      .default([]),
    /** sent as the `audience` parameter (Auth0 and similar) */
    audience: nonEmpty('the API identifier the token is for').optional(),
    /** how the client authenticates to the token endpoint: HTTP Basic (RFC 6749's default) or in the form body */
    clientAuth: z.enum(['basic', 'body'], { error: 'must be basic or body' }).default('basic'),
  })
  .superRefine((a, ctx) => {
    if (a.grant === 'refresh_token' && a.refreshToken === undefined) {
      ctx.addIssue({ code: 'custom', path: ['refreshToken'], message: 'is required with grant refresh_token: the refresh token the app was given when it was authorized, as "${OAUTH_REFRESH_TOKEN}"' });
    }
    if (a.grant === 'client_credentials' && a.refreshToken !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['refreshToken'], message: 'is used only with grant refresh_token (client_credentials asks for a new token with the client secret): remove it, or set grant: refresh_token' });
    }
  });

export const httpAuthSchema = z.discriminatedUnion('type', [basicAuth, bearerAuth, apiKeyAuth, oauth2Auth], {
  error: (iss) => {
    if (iss.code === 'invalid_union') return 'type must be one of basic | bearer | api_key | oauth2';
    if (iss.code === 'invalid_type') return `${iss.input === undefined ? 'is required' : 'must be an object'}: { type: basic | bearer | api_key | oauth2, …fields of the type }`;
    return undefined;
  },
});

export type HttpAuthConfig = z.infer<typeof httpAuthSchema>;
export type OAuth2AuthConfig = Extract<HttpAuthConfig, { type: 'oauth2' }>;
