import { envRefsIn } from '../../config/env-refs';
/**
 * Secrets out of messages: values of `${NAME}` references (tokens in headers, keys in query strings),
 * user:password in URLs and parameters whose name says secret are masked before a URL appears in an
 * error (which lands in workflow history) or a log line.
 */
const SECRET_PARAM = /token|key|secret|password|passwd|pwd|signature|^sig$|auth|session|credential/i;

/** Whether a query parameter's name says it carries a secret. */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name);
}

export function makeRedactor(secrets: readonly string[]): (text: string) => string {
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const s of values) {
      out = out.split(s).join('***');
      const encoded = encodeURIComponent(s);
      if (encoded !== s) out = out.split(encoded).join('***');
    }
    return out;
  };
}

/** The URL as shown in errors: no user info, secret-looking parameters masked, then every known secret. */
export function safeUrl(url: URL, redact: (text: string) => string): string {
  const u = new URL(url.toString());
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  for (const name of [...u.searchParams.keys()]) if (SECRET_PARAM.test(name)) u.searchParams.set(name, '***');
  return redact(readable(u.toString()));
}

function readable(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

/**
 * The values in a configured URL that are secrets (a security acceptance run found them in messages): every
 * `${NAME}` after the origin (a webhook token in the path, a key in the query). A host from `${API_HOST}` stays
 * readable; a URL taken whole from one reference has its secret-named parameters masked by safeUrl, and one with
 * user:password is refused (USERINFO_REFUSED).
 */
export function urlSecrets(configured: string, resolve: (ref: string, field: string) => string): string[] {
  // The origin: written out, or a leading reference (`${API_URL}/v1/orders`).
  const host = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*|\$\{[^}]+\})/i.exec(configured)?.[0] ?? '';
  return envRefsIn(configured.slice(host.length)).map((name) => resolve(`\${${name}}`, 'url'));
}
