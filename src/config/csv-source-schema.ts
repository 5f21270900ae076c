import { z } from 'zod';
import { IDENT_RE, identifier } from './identifiers';

/**
 * `kind: csv` — a CSV file streamed with a byte-offset cursor (see src/sources/csv).
 *
 * Columns: with `columns`, only the listed CSV columns are loaded (others are dropped), each under its
 * target name and PostgreSQL type; without it, every column is loaded as text under its header name.
 */

const pgType = z.string().regex(/^[a-z][a-z0-9 _(),]*$/i, 'must be a PostgreSQL type name, e.g. bigint, "numeric(12,2)", timestamptz, text');

const oneChar = (message: string) => z.string({ error: message }).length(1, message);

const QUOTE_MESSAGE = 'must be a single character (the quote around fields, default ") or false (no quoting)';

/** `"Order ID": { name: id, type: bigint }`, or the short form `"Order ID": id` (a text column named id). */
const csvColumnSchema = z.union([identifier, z.strictObject({ name: identifier.optional(), type: pgType.default('text') })], {
  error: () => 'must be a target column name, or { name: <column>, type: <PostgreSQL type> } (both optional)',
});

export const csvSourceSchema = z
  .strictObject({
    kind: z.literal('csv'),
    /** Relative to the config file (unless it starts with a ${NAME} reference); ${NAME} refs resolve in the worker. */
    path: z.string({ error: 'must be the path of a CSV file' }).min(1, 'must be the path of a CSV file'),
    /** The file must resolve (symlinks followed) inside this directory; set for a template whose path names an instance. */
    within: z.string({ error: 'must be a directory path' }).min(1, 'must be a directory path').optional(),
    delimiter: z
      .string({ error: 'must be a string, e.g. "," or ";" or "\\t"' })
      .min(1, 'must not be empty')
      .max(8, 'must be at most 8 characters')
      .refine((d) => !/[\r\n]/.test(d), 'must not contain a line break')
      .default(','),
    /** false: no quoting at all (every quote character is data). */
    quote: z.union([oneChar(QUOTE_MESSAGE), z.literal(false)], { error: QUOTE_MESSAGE }).default('"'),
    /** Inside a quoted field, this character makes the next quote literal; default: the quote itself (""). */
    escape: oneChar('must be a single character (it makes the next quote inside a quoted field literal; default: the quote itself)').optional(),
    header: z
      .union([z.literal(true), z.array(z.string().min(1, 'must not be empty'), { error: 'must be a list of column names' }).min(1, 'must name at least one column')], {
        error: 'must be true (the first line names the columns) or a list of column names (the file has no header line)',
      })
      .default(true),
    columns: z.record(z.string(), csvColumnSchema, { error: 'must map CSV column names to a target name or { name, type }' }).optional(),
    encoding: z.enum(['utf8', 'latin1'], { error: 'must be utf8 (the default) or latin1' }).default('utf8'),
    /** The field text that means NULL (quoted or not); false: no field is NULL. Default: an empty field. */
    nullValue: z
      .union([z.string(), z.literal(false), z.null()], { error: 'must be a string (the text that means NULL, default "") or false (no NULLs)' })
      .default('')
      .transform((v) => (v === false || v === null ? null : v)),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.quote !== false && cfg.delimiter.includes(cfg.quote)) ctx.addIssue({ code: 'custom', path: ['quote'], message: `must differ from the delimiter (both contain ${JSON.stringify(cfg.quote)})` });
    if (cfg.escape !== undefined && cfg.delimiter.includes(cfg.escape)) ctx.addIssue({ code: 'custom', path: ['escape'], message: `must differ from the delimiter (both contain ${JSON.stringify(cfg.escape)})` });
    if (cfg.escape !== undefined && cfg.quote === false) ctx.addIssue({ code: 'custom', path: ['escape'], message: 'has no effect with quote: false; remove it' });
    const names = Array.isArray(cfg.header) ? cfg.header : undefined;
    names?.forEach((n, i) => {
      const first = names.indexOf(n);
      if (first !== i) ctx.addIssue({ code: 'custom', path: ['header', i], message: `"${n}" is listed twice (also header[${first}])` });
      if (!cfg.columns && !IDENT_RE.test(n)) {
        ctx.addIssue({ code: 'custom', path: ['header', i], message: `"${n}" becomes a target column, so it must be a plain SQL identifier (letters, digits, "_"); or map it under columns` });
      }
    });
    if (!cfg.columns) return;
    const entries = Object.entries(cfg.columns);
    if (!entries.length) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'must list at least one column (or leave columns out to load every column as text)' });
    const targets = new Map<string, string>();
    for (const [csvName, spec] of entries) {
      if (names && !names.includes(csvName)) {
        ctx.addIssue({ code: 'custom', path: ['columns', csvName], message: `"${csvName}" is not in header (${names.map((n) => JSON.stringify(n)).join(', ')})` });
      }
      const target = typeof spec === 'string' ? spec : (spec.name ?? csvName);
      if (typeof spec !== 'string' && !spec.name && !IDENT_RE.test(csvName)) {
        ctx.addIssue({ code: 'custom', path: ['columns', csvName], message: `"${csvName}" is not a plain SQL identifier: give its target column a name, e.g. { name: ${suggestName(csvName)} }` });
      }
      const other = targets.get(target);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['columns', csvName], message: `target column "${target}" is already used by "${other}"` });
      else targets.set(target, csvName);
    }
  });

function suggestName(s: string): string {
  const n = s.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[a-z_]/.test(n) ? n : `c_${n}`;
}

export type CsvSourceConfig = z.infer<typeof csvSourceSchema>;
/** As written in a config (before defaults), e.g. for configs built in code. */
export type CsvSourceInput = z.input<typeof csvSourceSchema>;
