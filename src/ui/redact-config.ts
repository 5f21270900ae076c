import { maskSecrets } from './html';

const SECRET_KEY = /pass|secret|token|api_?key|auth|credential|private/i;
const ONLY_REFS = /^(\$\{[A-Za-z_][A-Za-z0-9_]*\}\s*)+$/;

/**
 * An integration's config for display: `${NAME}` references stay as written (they name a secret, the
 * UI never resolves them for display); a literal value under a secret-looking key is replaced, and
 * passwords inside literal URLs are masked.
 */
export function redactConfig(value: unknown, keyName = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(keyName) && !ONLY_REFS.test(value) && !/^bearer \$\{[A-Za-z_][A-Za-z0-9_]*\}$/i.test(value)) return '***';
    return maskSecrets(value);
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, keyName));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  return value;
}
