import { z } from 'zod';
import { pgUrl } from './pg-url';
import { cronProblem } from './cron';
import { addUnknownKindIssue, parseInto } from './kind-dispatch';
import { duration } from './duration';
import { identifier, noRepeats, tableName } from './identifiers';
import { mappingSchema, recordSchemaSchema } from './transform-schema';
import { httpSourceSchema, type HttpSourceConfig } from './http-source-schema';
import { csvSourceSchema, type CsvSourceConfig } from './csv-source-schema';
import { entrySchema, type Template } from './template-schema';
import { isPostgresSink, postgresSinkSchema, sinkSchemaFor } from './sink-schema';
import { httpSinkSchema } from './http-sink-schema';
import { checkSinkAgainstIntegration } from './sink-checks';

export * from './sink-schema';

export type { Template } from './template-schema';

/**
 * The whole config shape, in one place; types are inferred from these schemas.
 * Strings may hold `${NAME}` references: they stay unresolved here and are read from the worker's
 * environment only inside activities (see env-refs.ts), so secrets never enter workflow history.
 */

const nonEmpty = z.string().min(1, 'must not be empty');

/** An IANA time zone name, checked against the runtime's zone database. */
export const ianaTimeZone = z.string().superRefine((tz, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${tz}" is not an IANA time zone: use e.g. "UTC", "Europe/Berlin", "America/New_York"` });
  }
});

export const postgresSourceSchema = z.strictObject({
  kind: z.literal('postgres'),
  url: pgUrl,
  table: tableName,
  cursor: z.array(identifier).min(1, 'needs at least one column (the last one unique)').superRefine(noRepeats),
  /** Rows whose first cursor column is newer than now() - lag wait for the next run (late commits). */
  lag: duration.default(0),
  /** Columns to copy; default all columns of the table. */
  columns: z.array(identifier).min(1).optional(),
  /**
   * IANA zone that the writers' `timestamp without time zone` values are in (e.g. "Europe/Berlin");
   * required when the first cursor column has that type, so the high-water mark (now() - lag) is
   * computed in the writers' local time.
   */
  timeZone: ianaTimeZone.optional(),
  /** Upper bound on one source statement (a page's read); far above a normal page, so only a hung query hits it. */
  statementTimeout: duration.refine((ms) => ms >= 1000, 'must be at least 1s').default(300_000),
  /**
   * How long a run waits, before it reads, for the transactions writing the table to end (late commits: their rows
   * carry cursor values from before they commit); those still open then are named in a run warning. 0: no wait.
   */
  writersWait: duration.refine((ms) => ms <= 60_000, 'must be at most 60s (a run waits this long before every read; a longer transaction is for lag to cover)').default(5_000),
  /**
   * Row-level security on the table for the reading role. `refuse` (default): read with row_security off, as pg_dump
   * does, so a table any policy applies to is refused rather than read in part. `apply`: read what the policies show
   * (a role meant to see some rows, or a read-all policy), and never reconcile deletes from it.
   */
  rowSecurity: z.enum(['refuse', 'apply']).default('refuse'),
});

/** Deletes in the source reach the target by reconciliation (key ranges compared), never by guessing. */
export const deletesSchema = z.strictObject({
  /** How often a scheduled sync also removes target rows whose key the source no longer has. */
  reconcileEvery: duration.refine((ms) => ms >= 60_000, 'must be at least 1m'),
  /** A reconciliation refuses to delete more than this fraction of the target without --force. */
  maxFraction: z.number().gt(0).max(1).default(0.1),
});

/** What a Schedule does when a run is still going at the next tick (Temporal's ScheduleOverlapPolicy). */
export const overlapPolicy = z.enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']);

const schedulePolicies = {
  /** default skip: a run still going means the next tick is skipped (and counted, see `schedule list`) */
  overlap: overlapPolicy.default('skip'),
  /** how late a missed tick (server down) may still start; default 1 minute */
  catchupWindow: duration.default(60_000),
  paused: z.boolean().default(false),
};

const everySchedule = z.strictObject({ every: duration.refine((ms) => ms >= 1000, 'must be at least 1s'), offset: duration.optional(), ...schedulePolicies });
const cronSchedule = z.strictObject({ cron: nonEmpty, ...schedulePolicies }).superRefine((s, ctx) => {
  // Temporal's own refusal would name neither the value nor the field (see cron.ts).
  const problem = !s.cron.includes('${') ? cronProblem(s.cron, true) : undefined; // a reference is checked where references are
  if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: `"${s.cron}" ${problem}` });
});

/** `{ every }` or `{ cron }`, dispatched on which is there, so the one given reports its own error (a bad duration). */
type Schedule = z.infer<typeof everySchedule> | z.infer<typeof cronSchedule>;
export const scheduleSchema = z.unknown().transform((raw, ctx): Schedule => {
  const o = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  const schema: z.ZodType<Schedule> | undefined = o && 'every' in o && !('cron' in o) ? everySchedule : o && 'cron' in o && !('every' in o) ? cronSchedule : undefined;
  if (!schema) {
    ctx.addIssue({ code: 'custom', message: 'must be { every: <duration> } or { cron: "<expression>" } (one of the two), with optional overlap, catchupWindow, paused' });
    return z.NEVER;
  }
  return parseInto(schema, raw, ctx) ?? z.NEVER;
});

/** A source kind registered by a module (`source.module`) or in code (registerSource); options pass through. */
export const customSourceSchema = z.looseObject({
  kind: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be a source kind name: lower case letters, digits, "_" or "-"'),
  /** Path of a module exporting a source factory, relative to the config file. */
  module: z.string().min(1).optional(),
});

export type CustomSourceConfig = z.infer<typeof customSourceSchema>;
export type SourceConfig = PostgresSourceConfig | HttpSourceConfig | CsvSourceConfig | CustomSourceConfig;

const BUILTIN_SOURCES: Record<string, z.ZodType<SourceConfig>> = { postgres: postgresSourceSchema, http: httpSourceSchema, csv: csvSourceSchema };

/**
 * Dispatch on `kind`, so a built-in kind reports its own fields' errors (not a union's). `customKinds`:
 * the kinds registered in code in this process (the loaders pass the source registry's list; config
 * does not read the registry itself).
 */
const sourceSchemaFor = (customKinds: readonly string[]) => z.unknown().transform((raw, ctx): SourceConfig => {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  const schema = typeof kind === 'string' ? BUILTIN_SOURCES[kind] : undefined;
  const parsed = parseInto<SourceConfig>(schema ?? customSourceSchema, raw, ctx);
  if (parsed === undefined) return z.NEVER;
  const custom = parsed as CustomSourceConfig;
  if (!schema && !custom.module && !customKinds.includes(custom.kind)) {
    addUnknownKindIssue(ctx, 'source', custom.kind, Object.keys(BUILTIN_SOURCES), 'defineSource');
    return z.NEVER;
  }
  return parsed;
});

const integrationSchemaFor = (customKinds: readonly string[], sinkKinds: readonly string[] = []) => z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must match [a-z0-9][a-z0-9_-]* (lower case, at most 63 characters)'),
  source: sourceSchemaFor(customKinds),
  sink: sinkSchemaFor(sinkKinds),
  batchSize: z.number().int().min(1).max(100_000).default(5000),
  schedule: scheduleSchema.optional(),
  maxRunDuration: duration.refine((ms) => ms > 0, 'must be more than 0 (a run stops at its first page boundary past it)').optional(),
  /** Upper bound on rows read per second (a throttle for a busy source); unlimited when absent. */
  rateLimit: z.number().positive().optional(),
  /** Target column → source field (+ transform); without it, source columns are copied as they are. */
  mapping: mappingSchema.optional(),
  /** Rules per target column; failing records go to tidemark.dead_letters and the run goes on. */
  validate: recordSchemaSchema.optional(),
  /** Propagate source deletes by periodic reconciliation; absent = deletes are never propagated. */
  deletes: deletesSchema.optional(),
  /**
   * `eachRun`: every run first re-processes the pending dead letters (as `tidemark dead-letters --retry`),
   * before its first page; absent or `manual`: only that command does.
   */
  retryDeadLetters: z.enum(['manual', 'eachRun'], { error: 'must be manual or eachRun' }).optional(),
}).superRefine((it, ctx) => {
  checkSinkAgainstIntegration(it, ctx);
  // An API's columns are all in the config: a key not among them is known before anything runs (it failed the run).
  if (it.source.kind === 'http' && !it.mapping && isPostgresSink(it.sink) && !(it.source as HttpSourceConfig).parent) {
    const names = [...(it.source as HttpSourceConfig).columns.map((c) => c.name), ...(it.sink.instanceColumn ? [it.sink.instanceColumn] : [])];
    it.sink.key.forEach((k, i) => {
      if (!names.includes(k)) ctx.addIssue({ code: 'custom', path: ['sink', 'key', i], message: `column "${k}" is not among source.columns (${names.join(', ')}): declare it there, or key on one of them` });
    });
  }
  // Reading and writing one table: every run would read back what it wrote (found by an acceptance run).
  if (it.source.kind === 'postgres' && isPostgresSink(it.sink) && it.source.url === it.sink.url && sameTable((it.source as PostgresSourceConfig).table, it.sink.table)) {
    ctx.addIssue({ code: 'custom', path: ['sink', 'table'], message: `is the source table (${it.sink.table} at the same url): name another target table` });
  }
  // Reconciliation compares source and target tables key by key: both must hold the same rows.
  if (!it.deletes || !isPostgresSink(it.sink)) return;
  if (it.source.kind !== 'postgres') {
    ctx.addIssue({ code: 'custom', path: ['deletes'], message: `deletes are reconciled by comparing two PostgreSQL tables: needs source.kind postgres, not ${it.source.kind}` });
  } else if (it.mapping) {
    ctx.addIssue({ code: 'custom', path: ['deletes'], message: 'deletes cannot be combined with mapping: target rows differ from source rows by design' });
  }
});

const configSchemaFor = (customKinds: readonly string[], sinkKinds: readonly string[] = []) => {
  const integration = integrationSchemaFor(customKinds, sinkKinds);
  const entries = z
    .strictObject({
      integrations: z.array(entrySchema(integration, customKinds, sinkKinds)).min(1, 'must list at least one integration'),
    })
    // Templates are not integrations: everything that runs, lists or schedules integrations sees only those.
    .transform((cfg): { integrations: Integration[]; templates?: Template[] } => {
      const templates = cfg.integrations.filter((e): e is Template => 'template' in e);
      return { integrations: cfg.integrations.filter((e): e is Integration => !('template' in e)), ...(templates.length ? { templates } : {}) };
    });
  // Duplicate ids are found in the input as written, so they are reported with every other problem at once.
  const schema = z.unknown().transform((raw, ctx): z.output<typeof entries> => {
    const duplicates = duplicateIds(raw, ctx);
    const result = entries.safeParse(raw);
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return result.success && !duplicates ? result.data : z.NEVER;
  });
  // The sources' and sinks' own schemas: each is picked by kind in a transform, which hides them.
  shapes.set(schema, [entries, integration, postgresSourceSchema, httpSourceSchema, csvSourceSchema, postgresSinkSchema, httpSinkSchema]);
  return schema;
};

/** The object schemas behind a config schema (its transforms hide them), for the keys they know (key-suggestions.ts). */
const shapes = new WeakMap<object, z.ZodType[]>();
export function configShapesOf(schema: object): z.ZodType[] {
  return shapes.get(schema) ?? [schema as z.ZodType];
}

/** Adds an issue per integration whose id an earlier one has; returns whether there was any. */
function duplicateIds(raw: unknown, ctx: z.RefinementCtx): boolean {
  const list = raw && typeof raw === 'object' ? (raw as { integrations?: unknown }).integrations : undefined;
  if (!Array.isArray(list)) return false;
  const seen = new Map<string, number>();
  let any = false;
  list.forEach((it: unknown, i) => {
    const id = it && typeof it === 'object' ? (it as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) return void seen.set(id, i);
    ctx.addIssue({ code: 'custom', path: ['integrations', i, 'id'], message: `duplicate id "${id}" (also integrations[${first}])` });
    any = true;
  });
  // Workflow ids are tidemark-<id>, tidemark-<id>-cron, tidemark-<id>-scheduled-<time> (found by that prefix): `t01-cron`
  // would be t01's cron workflow, so `cancel t01-cron` stopped t01's (an acceptance run); `t01-scheduled…`'s runs would
  // be listed as t01's. Schedule ids are another namespace.
  for (const [id, i] of seen) {
    for (const [other] of seen) {
      const suffix = id.startsWith(`${other}-`) ? id.slice(other.length) : undefined;
      if (suffix === '-cron' || suffix === '-scheduled' || suffix?.startsWith('-scheduled-')) {
        ctx.addIssue({ code: 'custom', path: ['integrations', i, 'id'], message: `id "${id}" would share Temporal ids with integration "${other}" (tidemark-${other}${suffix === '-cron' ? '-cron is its cron workflow' : '-scheduled-… are its scheduled runs'}): choose another id` });
        any = true;
      }
    }
  }
  return any;
}

export const sourceSchema = sourceSchemaFor([]);
export const integrationSchema = integrationSchemaFor([]);
export const configSchema = configSchemaFor([]);

const schemasByKinds = new Map<string, typeof configSchema>();
const integrationSchemas = new Map<string, typeof integrationSchema>();

const kindsKey = (sources: readonly string[], sinks: readonly string[]) => `${[...sources].sort().join('\n')}\u0000${[...sinks].sort().join('\n')}`;

/** The integration schema accepting the given custom source and sink kinds (instances are parsed with their template's). */
export function integrationSchemaWith(customKinds: readonly string[] = [], sinkKinds: readonly string[] = []): typeof integrationSchema {
  if (customKinds.length === 0 && sinkKinds.length === 0) return integrationSchema;
  const key = kindsKey(customKinds, sinkKinds);
  let schema = integrationSchemas.get(key);
  if (!schema) integrationSchemas.set(key, (schema = integrationSchemaFor(customKinds, sinkKinds)));
  return schema;
}

/** The config schema accepting, besides the built-in kinds and `source.module` / `sink.module`, the given custom source and sink kinds. */
export function configSchemaWith(customKinds: readonly string[] = [], sinkKinds: readonly string[] = []): typeof configSchema {
  if (customKinds.length === 0 && sinkKinds.length === 0) return configSchema;
  const key = kindsKey(customKinds, sinkKinds);
  let schema = schemasByKinds.get(key);
  if (!schema) schemasByKinds.set(key, (schema = configSchemaFor(customKinds, sinkKinds)));
  return schema;
}

export type Config = z.infer<typeof configSchema>;
export type Integration = z.infer<typeof integrationSchema>;
export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;
export type ScheduleConfig = z.infer<typeof scheduleSchema>;
export type DeletesConfig = z.infer<typeof deletesSchema>;


export function isPostgresSource(s: SourceConfig): s is PostgresSourceConfig {
  return s.kind === 'postgres';
}

export function isHttpSource(s: SourceConfig): s is HttpSourceConfig {
  return s.kind === 'http';
}

export function isCsvSource(s: SourceConfig): s is CsvSourceConfig {
  return s.kind === 'csv';
}

/** Two table names as the config writes them, `public.` implied when no schema is given. */
function sameTable(a: string, b: string): boolean {
  const full = (t: string) => (t.includes('.') ? t : `public.${t}`);
  return full(a) === full(b);
}
