import { describe, expect, it } from 'vitest';
import { httpAuthSchema } from '../../src/config/http-auth-schema';
import { issuesFromZod } from '../../src/config/errors';

/** Every issue of an auth config, as "path: message". */
function issues(input: unknown): string[] {
  const r = httpAuthSchema.safeParse(input);
  return r.success ? [] : issuesFromZod(r.error).map((i) => `${i.path}: ${i.message}`);
}

const oauth = { type: 'oauth2', grant: 'client_credentials', tokenUrl: 'https://auth.example.com/oauth/token', clientId: 'app', clientSecret: '${CLIENT_SECRET}' };

describe('source.auth config', () => {
  it('accepts each type and fills the defaults', () => {
    expect(httpAuthSchema.parse({ type: 'basic', username: 'me', password: '${PW}' })).toEqual({ type: 'basic', username: 'me', password: '${PW}' });
    expect(httpAuthSchema.parse({ type: 'bearer', token: '${T}' })).toEqual({ type: 'bearer', token: '${T}' });
    expect(httpAuthSchema.parse({ type: 'api_key', in: 'query', name: 'api_key', value: '${K}' })).toMatchObject({ in: 'query', name: 'api_key' });
    expect(httpAuthSchema.parse({ ...oauth, scopes: 'read write' })).toMatchObject({ clientAuth: 'basic', scopes: ['read', 'write'] });
    expect(httpAuthSchema.parse({ ...oauth, grant: 'refresh_token', refreshToken: '${RT}', clientAuth: 'body' })).toMatchObject({ grant: 'refresh_token', clientAuth: 'body', scopes: [] });
  });

  it('refuses literal secrets, naming the field and the fix', () => {
    expect(issues({ type: 'basic', username: 'me', password: 'hunter22' })).toEqual([expect.stringMatching(/^password: is a credential.*"\$\{API_PASSWORD\}"/)]);
    expect(issues({ type: 'bearer', token: 'abc' })).toEqual([expect.stringMatching(/^token: is a credential/)]);
    expect(issues({ type: 'api_key', in: 'header', name: 'X-API-Key', value: 'k-123' })).toEqual([expect.stringMatching(/^value: is a credential/)]);
    expect(issues({ ...oauth, clientSecret: 's3cret' })).toEqual([expect.stringMatching(/^clientSecret: is a credential.*\$\{OAUTH_CLIENT_SECRET\}/)]);
    expect(issues({ ...oauth, grant: 'refresh_token', refreshToken: 'rt-1' })).toEqual([expect.stringMatching(/^refreshToken: is a credential/)]);
    // The literal never appears in the message.
    expect(issues({ type: 'basic', username: 'me', password: 'hunter22' }).join()).not.toContain('hunter22');
  });

  it('names every other bad field', () => {
    expect(issues({ type: 'digest' })).toEqual([expect.stringMatching(/^type: .*basic \| bearer \| api_key \| oauth2/)]);
    expect(issues(undefined)).toEqual([expect.stringMatching(/is required: \{ type: basic/)]);
    expect(issues({ type: 'api_key', in: 'cookie', name: 'k', value: '${K}' })).toEqual(['in: must be header or query']);
    expect(issues({ type: 'api_key', in: 'header', name: 'X Key', value: '${K}' })).toEqual(['name: is not a valid HTTP header name']);
    expect(issues({ ...oauth, grant: 'password' })).toEqual(['grant: must be client_credentials or refresh_token']);
    expect(issues({ ...oauth, tokenUrl: 'ftp://x/token' })).toEqual([expect.stringMatching(/^tokenUrl: must be an https:\/\/ URL/)]);
    expect(issues({ ...oauth, grant: 'refresh_token' })).toEqual([expect.stringMatching(/^refreshToken: is required with grant refresh_token/)]);
    expect(issues({ ...oauth, refreshToken: '${RT}' })).toEqual([expect.stringMatching(/^refreshToken: is used only with grant refresh_token/)]);
    expect(issues({ ...oauth, clientAuth: 'jwt' })).toEqual(['clientAuth: must be basic or body']);
    expect(issues({ ...oauth, scope: 'read' })).toEqual([expect.stringMatching(/scope/)]);
    expect(issues({ type: 'oauth2' })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^grant:/), expect.stringMatching(/^tokenUrl:/), expect.stringMatching(/^clientId:/), expect.stringMatching(/^clientSecret:/)]),
    );
  });
});
