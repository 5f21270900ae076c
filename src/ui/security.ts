import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

/** 127.0.0.0/8 written as an IPv4 address: a name that merely starts with "127." (127.attacker.example) is not one. */
const LOOPBACK_V4 = /^127\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || LOOPBACK_V4.test(host);
}

/** Binding beyond this machine without TIDEMARK_UI_TOKEN would put the actions in anyone's reach. */
export class UiTokenRequiredError extends Error {
  override readonly name = 'UiTokenRequiredError';
  constructor(readonly host: string) {
    super(`tidemark ui: binding to ${host} makes the page reachable from other machines: set TIDEMARK_UI_TOKEN to a long random secret (clients then send "Authorization: Bearer <token>" or basic auth with it as the password), or drop --host to bind to 127.0.0.1`);
  }
}

export class WeakUiTokenError extends Error {
  override readonly name = 'WeakUiTokenError';
  constructor(readonly length: number) {
    super(`TIDEMARK_UI_TOKEN is ${length} characters long: use at least 16 (e.g. \`openssl rand -hex 24\`)`);
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token from "Bearer <token>" or from basic auth's password (any user name). */
export function presentedToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const [scheme, value = ''] = authorization.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme ?? '')) return value;
  if (/^basic$/i.test(scheme ?? '')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/** With a token, every request needs it; static files too (they are harmless, but one rule is simpler to trust). */
export function requireToken(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (!token) return next();
    const given = presentedToken(c.req.header('authorization'));
    if (given !== undefined && same(given, token)) return next();
    c.header('WWW-Authenticate', 'Basic realm="tidemark", charset="UTF-8"');
    return c.text('tidemark ui: authentication required (Authorization: Bearer <TIDEMARK_UI_TOKEN>, or basic auth with it as the password)\n', 401);
  };
}

/**
 * Without a token the page trusts whoever reaches 127.0.0.1, so the Host header must be a loopback
 * name: a web page on another site cannot then read it by pointing its own name at 127.0.0.1 (DNS rebinding).
 */
export function loopbackHostOnly(enabled: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (!enabled) return next();
    const host = (c.req.header('host') ?? '').replace(/:\d+$/, '');
    if (isLoopback(host)) return next();
    return c.text(`tidemark ui: Host "${host}" refused: without TIDEMARK_UI_TOKEN only localhost names are served\n`, 403);
  };
}

/** One CSRF token per server process, written into every page; a POST must send it back (form field or header). */
export function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

export function requireCsrf(csrf: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== 'POST') return next();
    let given = c.req.header('x-csrf-token');
    if (!given) {
      const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      given = typeof body._csrf === 'string' ? body._csrf : undefined;
    }
    if (given && same(given, csrf)) return next();
    return c.text('tidemark ui: action refused: missing or wrong CSRF token (reload the page and try again)\n', 403);
  };
}

/** Headers for every response: no framing, no sniffing, scripts only from this server. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
  c.header('X-Frame-Options', 'DENY');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', c.req.path.startsWith('/static/') ? 'public, max-age=3600' : 'no-store');
};
