import { z } from 'zod';
import { matchedBranch } from './errors';

/**
 * Sources and sinks dispatch on `kind` before parsing, so a built-in kind reports its own fields' errors
 * (a union would report every member's). These two helpers are the shared part of that dispatch.
 */

/** Parses `raw` with `schema`, moving its issues onto the outer context; undefined when it has any. */
export function parseInto<T>(schema: z.ZodType<T>, raw: unknown, ctx: z.RefinementCtx): T | undefined {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues.flatMap(matchedBranch)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return undefined;
}

/** A kind that is neither built in, registered in this process, nor given a module to load it from. */
export function addUnknownKindIssue(ctx: z.RefinementCtx, role: 'source' | 'sink', kind: string, builtins: readonly string[], define: string): void {
  ctx.addIssue({
    code: 'custom',
    path: ['kind'],
    message: `unknown ${role} kind "${kind}": use ${builtins.join(' | ')}, or set ${role}.module to a module that exports a ${role} (${define})`,
  });
}
