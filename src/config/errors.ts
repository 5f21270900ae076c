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

/**
 * zod's issues as config issues; `suggest` (the key meant by an unknown key at a path, see key-suggestions.ts)
 * adds a "did you mean".
 */
export function issuesFromZod(error: z.ZodError, suggest?: (path: readonly PropertyKey[], key: string, unknownHere: readonly string[]) => string | undefined): ConfigIssue[] {
  return error.issues.flatMap(matchedBranch).map((i) => ({ path: formatPath(i.path), message: withSuggestion(plainer(i.message), i, suggest) }));
}

/**
 * A union's issue as the issues of the one option the value's type matched (a column given as an object: the object
 * form's, `format` named and its bad value shown), where only one did; else as it is (its message names the options).
 * A column's misspelt format said only "must be a PostgreSQL type name or { type, … }" (an acceptance run).
 */
export function matchedBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || !issue.errors.length) return [issue];
  // An option the value is not even of (a string for an object, `false` for the literal true): refused at its root.
  const typeOnly = (errs: readonly z.core.$ZodIssue[]) => errs.length === 1 && (errs[0]?.code === 'invalid_type' || errs[0]?.code === 'invalid_value') && errs[0].path.length === 0;
  const matched = issue.errors.filter((errs) => !typeOnly(errs));
  if (matched.length !== 1) return [issue];
  return (matched[0] as z.core.$ZodIssue[]).flatMap((i) => matchedBranch({ ...i, path: [...issue.path, ...i.path] }));
}

function withSuggestion(message: string, issue: z.core.$ZodIssue, suggest: Parameters<typeof issuesFromZod>[1]): string {
  // By its message too: the config schema passes its inner issues on as custom ones.
  const unknown = issue.code === 'unrecognized_keys' ? issue.keys : /^Unrecognized keys?: /.test(message) ? [...message.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string) : [];
  if (!unknown.length || !suggest) return message;
  const found = unknown.map((k) => [k, suggest(issue.path, k, unknown)] as const).filter(([, s]) => s !== undefined);
  // A key spelled right that this variant lacks (hasMore under style link_header): "did you mean hasMore" would not help.
  const elsewhere = found.filter(([k, s]) => s === k).map(([k]) => `"${k}"`);
  const hints = found.filter(([k, s]) => s !== k);
  const notes = [
    ...(hints.length ? [`did you mean ${hints.map(([k, s]) => `"${s}" for "${k}"`).join(', ')}?`] : []),
    ...(elsewhere.length ? [`${elsewhere.join(', ')} ${elsewhere.length > 1 ? 'belong' : 'belongs'} to another style or kind, not the one given here`] : []),
  ];
  return notes.length ? `${message} (${notes.join('; ')})` : message;
}

/** zod's words for a field that is not there ("Invalid input: expected string, received undefined") as a user says it. */
function plainer(message: string): string {
  const missing = /^Invalid input: expected (.+), received undefined$/.exec(message);
  return missing ? `required (${missing[1]}), but missing` : message;
}
