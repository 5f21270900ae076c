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
    super(`${field} refers to \${${variable}}, but ${variable} is not set in the worker's environment: export it before starting the worker`);
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
