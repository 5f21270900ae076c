import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OAuth2 authorization server and protected API for the auth tests (test code, real HTTP).
 * POST /token: client_credentials and refresh_token grants (RFC 6749), client authentication by HTTP
 * Basic or form body, short-lived access tokens, refresh tokens rotated on every use (the old one
 * becomes invalid). GET /resource: 200 for a live token, 401 for an expired, revoked or unknown one.
 * GET /echo: the request's headers and query, to check where a credential went.
 */
export interface OAuthServerOptions {
  clientId?: string;
  clientSecret?: string;
  /** access token lifetime in seconds (expires_in) */
  lifetime?: number;
  /** ms before answering a token request (to overlap concurrent refreshes) */
  tokenDelayMs?: number;
  /** rotate refresh tokens on use (default true) */
  rotate?: boolean;
  /** answer a refused client with a WWW-Authenticate challenge too, as some servers do */
  challenge?: boolean;
}

export interface TokenRequest {
  grant: string;
  clientAuth: 'basic' | 'body' | 'none';
  params: Record<string, string>;
}

export interface OAuthServer {
  url: string;
  tokenRequests: TokenRequest[];
  resourceRequests: { status: number }[];
  /** issues a refresh token as if a user had authorized the app */
  authorize(): string;
  /** the refresh tokens the server accepts now */
  validRefreshTokens(): string[];
  /** the access tokens issued so far, in order */
  issuedAccessTokens: string[];
  revokeAccessTokens(): void;
  /** statuses to answer the next token requests with instead of a token */
  failNextTokenRequests(...statuses: number[]): void;
  /** the resource refuses every token (a client without access to it) */
  refuseAll: boolean;
  /** runs once, after the next refresh token is rotated and before the answer is sent */
  beforeNextAnswer?: () => Promise<void>;
  close(): Promise<void>;
}

export async function startOAuthServer(o: OAuthServerOptions = {}): Promise<OAuthServer> {
  const clientId = o.clientId ?? 'tidemark-client';
  const clientSecret = o.clientSecret ?? 'cs-Very$ecret/42';
  const lifetime = o.lifetime ?? 3600;
  const access = new Map<string, number>(); // token → expires at (ms)
  const refresh = new Set<string>();
  const failures: number[] = [];
  const state: OAuthServer = {
    url: '',
    tokenRequests: [],
    resourceRequests: [],
    issuedAccessTokens: [],
    refuseAll: false,
    authorize() {
      const t = `rt-${randomBytes(12).toString('hex')}`;
      refresh.add(t);
      return t;
    },
    validRefreshTokens: () => [...refresh],
    revokeAccessTokens: () => access.clear(),
    failNextTokenRequests: (...s) => failures.push(...s),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    let id = params.client_id;
    let secret = params.client_secret;
    let clientAuth: TokenRequest['clientAuth'] = secret === undefined ? 'none' : 'body';
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const [u, p] = Buffer.from(basic[1] as string, 'base64').toString().split(':').map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
      [id, secret, clientAuth] = [u, p, 'basic'];
    }
    state.tokenRequests.push({ grant: params.grant_type ?? '', clientAuth, params });
    if (o.tokenDelayMs) await new Promise((r) => setTimeout(r, o.tokenDelayMs));
    const failure = failures.shift();
    if (failure !== undefined) return json(res, failure, { error: 'temporarily_unavailable' });
    if (id !== clientId || secret !== clientSecret) return json(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' }, o.challenge ? { 'www-authenticate': 'Basic realm="oauth"' } : {});
    let newRefresh: string | undefined;
    if (params.grant_type === 'refresh_token') {
      const rt = params.refresh_token ?? '';
      if (!refresh.has(rt)) return json(res, 400, { error: 'invalid_grant', error_description: 'refresh token is invalid, expired or revoked' });
      if (o.rotate !== false) {
        refresh.delete(rt);
        newRefresh = state.authorize();
      }
    } else if (params.grant_type !== 'client_credentials') {
      return json(res, 400, { error: 'unsupported_grant_type' });
    }
    const hook = state.beforeNextAnswer;
    state.beforeNextAnswer = undefined;
    await hook?.();
    const at = `at-${randomBytes(12).toString('hex')}`;
    access.set(at, Date.now() + lifetime * 1000);
    state.issuedAccessTokens.push(at);
    return json(res, 200, { access_token: at, token_type: 'Bearer', expires_in: lifetime, ...(newRefresh ? { refresh_token: newRefresh } : {}) });
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/token') {
      token(req, res).catch(() => json(res, 500, { error: 'server_error' }));
      return;
    }
    if (url.pathname === '/resource') {
      const t = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const expires = t === undefined ? undefined : access.get(t);
      const ok = !state.refuseAll && expires !== undefined && expires > Date.now();
      state.resourceRequests.push({ status: ok ? 200 : 401 });
      return ok ? json(res, 200, { data: [{ id: 1 }] }) : json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (url.pathname === '/login') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html>sign in</html>');
    }
    if (url.pathname === '/echo') return json(res, 200, { headers: req.headers, query: Object.fromEntries(url.searchParams) });
    json(res, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
