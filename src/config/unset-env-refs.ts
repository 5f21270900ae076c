import { envRefsIn, secretEnvName } from './env-refs';

/** An instance's encrypted secret, left as this reference where the key is absent: the workers decrypt it themselves. */
const SECRET_PREFIX = secretEnvName('');
import type { Integration } from './schema';

export interface UnsetEnvRef {
  /** the config field holding the reference, e.g. `source.headers.Authorization` */
  field: string;
  variable: string;
}

/**
 * The `${NAME}` references of an integration (source, sink, mapping, …) whose variable `env` lacks. A worker
 * resolves them when a run starts: one it lacks fails every run of that integration. Instance references
 * (`${secret.x}`, `${instance.x}`) are not environment references and are left out.
 */
export function unsetEnvRefs(it: Integration, env: NodeJS.ProcessEnv): UnsetEnvRef[] {
  const out: UnsetEnvRef[] = [];
  const walk = (value: unknown, field: string): void => {
    if (typeof value === 'string') {
      for (const variable of envRefsIn(value)) if (!variable.startsWith(SECRET_PREFIX) && (env[variable] === undefined || env[variable] === '')) out.push({ field, variable });
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${field}[${i}]`));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, field ? `${field}.${k}` : k);
  };
  const { id: _id, ...rest } = it;
  walk(rest, '');
  return out;
}

/** One line per integration: `orders: ${A} (source.url), ${B} (sink.url)`. */
export function describeUnset(id: string, refs: readonly UnsetEnvRef[]): string {
  return `${id}: ${refs.map((r) => `\${${r.variable}} (${r.field})`).join(', ')}`;
}
