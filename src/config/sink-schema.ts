import { z } from 'zod';
import { pgUrl, resolvePgUrl } from './pg-url';
import { addUnknownKindIssue, parseInto } from './kind-dispatch';
import { identifier, noRepeats, tableName } from './identifiers';
import { httpSinkSchema, type HttpSinkConfig } from './http-sink-schema';
import { PermanentError } from '../errors';

/**
 * `sink`: where pages go. `postgres` (the default kind: configs written before sinks had kinds stay
 * valid), `http` (an API, see http-sink-schema.ts), or a custom kind (`sink.module`, or registerSink in code).
 * Every sink has a state database (checkpoints, runs, dead letters): `url` for postgres, `stateUrl` for the others.
 */

const nonEmpty = z.string().min(1, 'must not be empty');

export const postgresSinkSchema = z.strictObject({
  kind: z.literal('postgres').default('postgres'),
  url: pgUrl.default('${DATABASE_URL}'),
  table: tableName,
  key: z.array(identifier).min(1, 'needs at least one key column').superRefine(noRepeats),
  create: z.boolean().default(false),
  /**
   * A column that appears in the source: `add_columns` adds it to the target (ALTER TABLE … ADD COLUMN)
   * and fills it from then on; `fail` stops with the column named. Default: add_columns when `create`
   * is true (tidemark owns the target's shape), else fail. A dropped or retyped column always fails.
   */
  schemaChanges: z.enum(['fail', 'add_columns']).optional(),
  /** Templates only: one target shared by the instances, the instance id in this column, which joins the key. */
  instanceColumn: identifier.optional(),
  /**
   * Mostly changed pages are replaced (DELETE of their keys + COPY) rather than upserted, where the target allows
   * it (src/sinks/replace-rows.ts; absent: true). false: always upsert, e.g. when other writers update the same rows at once.
   */
  replacePages: z.boolean().optional(),
});

/** A sink kind registered by a module (`sink.module`) or in code (registerSink); other options pass through to it. */
export const customSinkSchema = z.looseObject({
  kind: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be a sink kind name: lower case letters, digits, "_" or "-"'),
  /** Path of a module exporting a sink factory (defineSink), relative to the config file. */
  module: z.string().min(1).optional(),
  /** The state database (checkpoints, runs, dead letters); the page's transaction runs there. */
  stateUrl: nonEmpty.default('${DATABASE_URL}'),
});

export type PostgresSinkConfig = z.infer<typeof postgresSinkSchema>;
export type CustomSinkConfig = z.infer<typeof customSinkSchema>;
export type { HttpSinkConfig };
export type SinkConfig = PostgresSinkConfig | HttpSinkConfig | CustomSinkConfig;

const BUILTIN_SINKS: Record<string, z.ZodType<SinkConfig>> = { postgres: postgresSinkSchema, http: httpSinkSchema };

/**
 * Dispatch on `kind` (absent = postgres), so each built-in kind reports its own fields' errors. `customKinds`:
 * the sink kinds registered in code in this process, when the loader knows them; `undefined` accepts any
 * well-formed kind without `module` (the worker then names it if it is not registered: SinkModuleError).
 */
export const sinkSchemaFor = (customKinds: readonly string[]) => z.unknown().transform((raw, ctx): SinkConfig => {
  const kind = raw && typeof raw === 'object' ? (raw as { kind?: unknown }).kind : undefined;
  const schema = kind === undefined ? postgresSinkSchema : typeof kind === 'string' ? BUILTIN_SINKS[kind] : undefined;
  const parsed = parseInto<SinkConfig>(schema ?? customSinkSchema, kind === 'http' ? withoutTableFields(raw as Record<string, unknown>, ctx) : raw, ctx);
  if (parsed === undefined) return z.NEVER;
  const custom = parsed as CustomSinkConfig;
  if (!schema && !custom.module && !customKinds.includes(custom.kind)) {
    addUnknownKindIssue(ctx, 'sink', custom.kind, Object.keys(BUILTIN_SINKS), 'defineSink');
    return z.NEVER;
  }
  return parsed;
});

/** Fields of a target table on an http sink: each named (a strict object would only list the allowed ones), then left out. */
const TABLE_FIELDS = ['table', 'create', 'schemaChanges', 'instanceColumn', 'replacePages'] as const;

function withoutTableFields(raw: Record<string, unknown>, ctx: z.RefinementCtx): Record<string, unknown> {
  const rest = { ...raw };
  for (const f of TABLE_FIELDS) {
    if (!(f in rest)) continue;
    ctx.addIssue({ code: 'custom', path: [f], message: `is for postgres sinks (a target table); an HTTP sink sends records to sink.url and has no table: remove it` });
    delete rest[f];
  }
  return rest;
}

export function isPostgresSink(s: SinkConfig): s is PostgresSinkConfig {
  return s.kind === 'postgres';
}

export function isHttpSink(s: SinkConfig): s is HttpSinkConfig {
  return s.kind === 'http';
}

export function isCustomSink(s: SinkConfig): s is CustomSinkConfig {
  return s.kind !== 'postgres' && s.kind !== 'http';
}

/** The state database of any sink, as written (may hold ${NAME}): postgres `url`, else `stateUrl`. */
export function stateUrlOf(s: SinkConfig): string {
  return isPostgresSink(s) ? s.url : (s as HttpSinkConfig | CustomSinkConfig).stateUrl;
}

/** The config path of that URL, for error messages (e.g. integrations[x].sink.stateUrl). */
export function stateUrlField(s: SinkConfig): 'url' | 'stateUrl' {
  return isPostgresSink(s) ? 'url' : 'stateUrl';
}

/** What a new source column does to the target: the explicit setting, else add_columns when tidemark creates the target. */
export function schemaChangesOf(sink: PostgresSinkConfig): 'fail' | 'add_columns' {
  return sink.schemaChanges ?? (sink.create ? 'add_columns' : 'fail');
}

/** The state database URL of an integration's sink, `${NAME}` resolved from `env`: every state session opens this. */
export function stateDbUrlOf(it: { id: string; sink: SinkConfig }, env: NodeJS.ProcessEnv = process.env): string {
  return resolvePgUrl(stateUrlOf(it.sink), `integrations[${it.id}].sink.${stateUrlField(it.sink)}`, env);
}

/** A command that reads or writes the target table was given an integration whose sink is not a table. */
export class NotPostgresSinkError extends PermanentError {
  override readonly name = 'NotPostgresSinkError';
  constructor(
    readonly integration: string,
    readonly kind: string,
    readonly what: string,
  ) {
    super(`${what} needs a PostgreSQL sink (a target table), but integration ${integration} has sink.kind ${kind}: use it only with postgres sinks (for an API, see \`tidemark status\` and \`tidemark dead-letters\`)`);
  }
}

/** The integration's sink as a PostgreSQL sink, or NotPostgresSinkError naming `what` needed it. */
export function postgresSinkOf(it: { id: string; sink: SinkConfig }, what: string): PostgresSinkConfig {
  if (!isPostgresSink(it.sink)) throw new NotPostgresSinkError(it.id, it.sink.kind, what);
  return it.sink;
}

/** One line naming where records go (pages, listings): the table, the API's method and URL, or the custom kind. */
export function describeSink(s: SinkConfig): string {
  if (isPostgresSink(s)) return s.table;
  if (isHttpSink(s)) return `${s.method} ${s.url}`;
  return `${s.kind}${s.module ? ` (${s.module})` : ''}`;
}
