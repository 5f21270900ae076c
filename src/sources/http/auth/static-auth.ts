import type { HttpAuthConfig } from '../../../config/http-auth-schema';
import { resolveEnvRefs } from '../../../config/env-refs';
import { maskAll, setHeader, type HttpAuth } from './http-auth';

type StaticConfig = Extract<HttpAuthConfig, { type: 'basic' | 'bearer' | 'api_key' }>;

/** basic, bearer and api_key: a fixed credential, so a 401 cannot be helped by asking again. */
export function createStaticAuth(cfg: StaticConfig, env: NodeJS.ProcessEnv): HttpAuth {
  const secrets: string[] = [];
  let put: (req: { url: URL; headers: Record<string, string> }) => void;
  if (cfg.type === 'basic') {
    const user = resolveEnvRefs(cfg.username, 'source.auth.username', env);
    const password = resolveEnvRefs(cfg.password, 'source.auth.password', env);
    // RFC 7617: user-id ":" password, UTF-8, base64.
    const value = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    secrets.push(password, value.slice(6));
    put = (req) => setHeader(req.headers, 'Authorization', value);
  } else if (cfg.type === 'bearer') {
    const token = resolveEnvRefs(cfg.token, 'source.auth.token', env);
    secrets.push(token);
    put = (req) => setHeader(req.headers, 'Authorization', `Bearer ${token}`);
  } else {
    const value = resolveEnvRefs(cfg.value, 'source.auth.value', env);
    secrets.push(value);
    const name = cfg.name;
    put = cfg.in === 'header' ? (req) => setHeader(req.headers, name, value) : (req) => req.url.searchParams.set(name, value);
  }
  return {
    type: cfg.type,
    apply: async (req) => put(req),
    onUnauthorized: async () => false,
    redact: (text) => maskAll(text, secrets),
  };
}

export const noAuth: HttpAuth = { type: 'none', apply: async () => undefined, onUnauthorized: async () => false, redact: (t) => t };
