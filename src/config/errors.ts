import { PermanentError } from '../errors';
import type { z } from 'zod';

export interface ConfigIssue {
  /** e.g. "integrations[0].source.table" */
  path: string;
  message: string;
}

/** A config that cannot be used; the message lists every field that is wrong and how. */
export class ConfigError extends PermanentError {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid config ${source}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export function issuesFromZod(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: plainer(i.message) }));
}

/** zod's words for a field that is not there ("Invalid input: expected string, received undefined") as a user says it. */
function plainer(message: string): string {
  const missing = /^Invalid input: expected (.+), received undefined$/.exec(message);
  return missing ? `required (${missing[1]}), but missing` : message;
}
