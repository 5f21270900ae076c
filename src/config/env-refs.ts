import { PermanentError } from '../errors';
/**
 * `${NAME}` references in config strings. They are resolved only inside activities, from the worker's
 * environment, so the values (passwords in URLs, API tokens) never appear in workflow inputs or history.
 */
/** Resolves `${NAME}` references of an option from the worker's environment; `field` names it in errors. */
export type ResolveEnv = (value: string, field: string) => string;

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export class MissingEnvError extends PermanentError {
  override readonly name = 'MissingEnvError';
  constructor(
    readonly field: string,
    readonly variable: string,
  ) {
    super(`${field} refers to \${${variable}}, but ${variable} is not set: export it where tidemark runs (a worker reads it when a run starts; the CLI when a command reads the state database)`);
  }
}

export function resolveEnvRefs(value: string, field: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(REF, (_, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') throw new MissingEnvError(field, name);
    return v;
  });
}

export function envRefsIn(value: string): string[] {
  return [...value.matchAll(REF)].map((m) => m[1] as string);
}

/**
 * Template references: `${instance.NAME}` (a parameter of the instance; `${instance.id}` is its id) and
 * `${secret.NAME}` (a secret of the instance). Only templates may use them (see template-schema.ts); the
 * instance's values replace them when a run starts (src/instances).
 */
export type TemplateRefKind = 'instance' | 'secret';

/** Any `${scope.name}`: scoped references are template references, checked by name and scope. */
const SCOPED_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\.([^}]*)\}/g;
const REF_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface TemplateRef {
  /** `instance`, `secret`, or whatever scope was written (an error unless one of those two). */
  scope: string;
  name: string;
  text: string;
}

export function templateRefsIn(value: string): TemplateRef[] {
  return [...value.matchAll(SCOPED_REF)].map((m) => ({ scope: m[1] as string, name: m[2] as string, text: m[0] }));
}

/** Why a template reference is malformed, or undefined when it is fine. */
export function templateRefProblem(ref: TemplateRef): string | undefined {
  if (ref.scope !== 'instance' && ref.scope !== 'secret') return `unknown reference ${ref.text}: use \${instance.NAME} (a parameter), \${secret.NAME} (a secret) or \${NAME} (the worker's environment)`;
  if (!REF_NAME.test(ref.name)) return `${ref.text}: the name must be letters, digits and "_", not starting with a digit`;
  return undefined;
}

/** Replaces every template reference of `value` by what `to` returns for it. */
export function replaceTemplateRefs(value: string, to: (kind: TemplateRefKind, name: string) => string): string {
  return value.replace(SCOPED_REF, (text, scope: string, name: string) => (scope === 'instance' || scope === 'secret' ? to(scope, name) : text));
}

/**
 * The worker-side variable a `${secret.NAME}` stored encrypted becomes while a run resolves it (held in the
 * run's own environment copy, never in process.env of a worker, never in Temporal).
 */
export function secretEnvName(name: string): string {
  return `__TIDEMARK_SECRET_${name}`;
}
