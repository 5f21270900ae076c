import { z } from 'zod';

/**
 * Table and column names come from config and end up in SQL, so they are restricted to plain
 * identifiers and always double-quoted when used (see quoteIdent): nothing else can reach SQL text.
 */
export const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export const identifier = z
  .string()
  .regex(IDENT_RE, 'must be a plain SQL identifier: letters, digits, "_" or "$", not starting with a digit, at most 63 characters');

export const tableName = z
  .string()
  .refine((s) => {
    const parts = s.split('.');
    return parts.length >= 1 && parts.length <= 2 && parts.every((p) => IDENT_RE.test(p));
  }, 'must be "table" or "schema.table", each part a plain SQL identifier (letters, digits, "_" or "$")');

export interface QualifiedName {
  schema: string;
  name: string;
}

export function splitTableName(s: string): QualifiedName {
  const parts = s.split('.');
  return parts.length === 2 ? { schema: parts[0] as string, name: parts[1] as string } : { schema: 'public', name: s };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteTable(t: QualifiedName): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/** A list of names without repeats (`cursor: [id, id]`, `key: [id, id]`): the repeated name is named. */
export function noRepeats(names: readonly string[], ctx: { addIssue: (issue: { code: 'custom'; path: number[]; message: string }) => void }): void {
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `"${n}" is listed twice` });
  });
}
