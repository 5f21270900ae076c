import type { HttpAuthConfig } from '../../../config/http-auth-schema';
import type { AuthContext, HttpAuth } from './http-auth';
import { createOAuth2Auth } from './oauth2-auth';
import { createStaticAuth, noAuth } from './static-auth';

/** The auth of an HTTP source, built in the worker (secrets resolved here); no `auth` key: nothing added. */
export function createAuth(cfg: HttpAuthConfig | undefined, ctx: AuthContext): HttpAuth {
  if (cfg === undefined) return noAuth;
  if (cfg.type === 'oauth2') return createOAuth2Auth(cfg, ctx);
  return createStaticAuth(cfg, ctx.env ?? process.env);
}
