/** HTML built by a tagged template that escapes every interpolated value unless it is already Safe. */
export class Safe {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ENTITIES[c] as string);
}

function part(value: unknown): string {
  if (value instanceof Safe) return value.html;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

/** `h\`<td>${value}</td>\``: values are escaped; arrays of Safe are joined; null/undefined/false render nothing. */
export function h(strings: TemplateStringsArray, ...values: unknown[]): Safe {
  let out = strings[0] as string;
  values.forEach((v, i) => (out += part(v) + (strings[i + 1] as string)));
  return new Safe(out);
}

/**
 * Text that might carry a secret (an error message quoting a URL, a config value): passwords in URLs
 * and bearer tokens are masked. Config `${NAME}` references are kept as they are: they name, not hold, a secret.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)@/gi, (_, head: string, pw: string) => (/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(pw) ? `${head}${pw}@` : `${head}***@`))
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1***')
    .replace(/([?&](?:password|token|secret|api_?key|access_token|client_secret)=)[^&\s]+/gi, '$1***');
}
