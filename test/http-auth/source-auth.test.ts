import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { createSource } from '../../src/sources/create-source';
import { clearTokenCache, CredentialsRefusedError } from '../../src/sources/http/auth';
import type { Source } from '../../src/sources/source';
import { startOAuthServer, type OAuthServer } from './oauth-server';

/**
 * The HTTP source with `auth`, end to end: the source builds its credential, the client applies it to
 * every request, and a 401 gets one fresh OAuth2 token before the request is sent again.
 */
let oauth: OAuthServer;
beforeAll(async () => (oauth = await startOAuthServer({ lifetime: 3600 })));
afterAll(async () => oauth?.close());
beforeEach(() => clearTokenCache());

const env = () => ({ API_URL: oauth.url, CLIENT_SECRET: 'cs-Very$ecret/42' });

function source(auth: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Source> {
  const cfg = parseConfig({
    integrations: [
      {
        id: 'protected',
        source: {
          kind: 'http',
          url: '${API_URL}/resource',
          records: 'data',
          pagination: { style: 'cursor', next: 'next_cursor', hasMore: 'has_more' },
          columns: { id: 'bigint' },
          auth,
          ...extra,
        },
        sink: { table: 'copy.protected', key: ['id'] },
      },
    ],
  }).integrations[0]!;
  return createSource(cfg.source, 'protected', env());
}

async function readAll(s: Source): Promise<string[][]> {
  await s.prepare({});
  const rows: string[][] = [];
  for await (const page of s.pages(null, { limit: 100 })) rows.push(...(page.rows as string[][]));
  return rows;
}

const oauth2 = () => ({ type: 'oauth2', grant: 'client_credentials', tokenUrl: `${oauth.url}/token`, clientId: 'tidemark-client', clientSecret: '${CLIENT_SECRET}' });

describe('HTTP source with auth', () => {
  it('OAuth2 client credentials: one token for every request; a revoked token is replaced once on 401 and the read goes on', async () => {
    oauth.refuseAll = false;
    const before = oauth.tokenRequests.length;
    const s = await source(oauth2());
    try {
      expect(await readAll(s)).toEqual([['1']]);
      expect(oauth.tokenRequests.length - before).toBe(1);
      oauth.revokeAccessTokens();
      const seen = oauth.resourceRequests.length;
      expect(await readAll(s)).toEqual([['1']]);
      expect(oauth.tokenRequests.length - before).toBe(2);
      expect(oauth.resourceRequests.slice(seen).map((r) => r.status)).toEqual([401, 200]);
    } finally {
      await s.close();
    }
  });

  it('credentials the API keeps refusing fail non-retryable, naming source.auth, with no token or secret in the message', async () => {
    oauth.refuseAll = true;
    const s = await source(oauth2());
    try {
      const err = await readAll(s).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CredentialsRefusedError);
      const text = String((err as Error).message);
      expect(text).toMatch(/401 Unauthorized: .*source\.auth/);
      for (const t of oauth.issuedAccessTokens) expect(text).not.toContain(t);
      expect(text).not.toContain('cs-Very$ecret/42');
    } finally {
      oauth.refuseAll = false;
      await s.close();
    }
  });

  it('a header that auth sets too is refused in the config, naming both', () => {
    expect(() => source(oauth2(), { headers: { Authorization: 'Bearer ${CLIENT_SECRET}' } })).toThrow(/headers\.Authorization: conflicts with source\.auth \(type oauth2\)/);
  });
});
