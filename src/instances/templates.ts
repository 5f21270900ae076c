import { resolveEnvRefs } from '../config/env-refs';
import type { Config, Template } from '../config/schema';
import { UnknownTemplateError } from './errors';

export function getTemplate(config: Config, id: string): Template {
  const t = config.templates?.find((x) => x.id === id);
  if (!t) throw new UnknownTemplateError(id, (config.templates ?? []).map((x) => x.id));
  return t;
}

/** The field that names a template's state database as written: postgres (the default kind) `url`, http and custom sinks `stateUrl`. */
function stateUrlField(t: Template): 'url' | 'stateUrl' {
  const kind = (t.raw.sink as { kind?: unknown } | undefined)?.kind;
  return kind === undefined || kind === 'postgres' ? 'url' : 'stateUrl';
}

/** The state database of a template's instances (its sink database), resolved in this process's environment. */
export function templateStateUrl(t: Template, env: NodeJS.ProcessEnv = process.env): string {
  return resolveEnvRefs(t.sinkUrl, `integrations[${t.id}].sink.${stateUrlField(t)}`, env);
}
