import { isCsvSource, isHttpSource, isPostgresSource, type Integration, type SourceConfig } from '../config/schema';
import { isPostgresSink } from '../config/sink-schema';
import { resolveEnvRefs } from '../config/env-refs';
import { resolvePgUrl } from '../config/pg-url';
import { connectNamed } from '../pg/connect';
import { createCsvSource } from './csv';
import { asSource } from './define-source';
import { createHttpSource } from './http';
import { createChildStreamSource } from './http/children';
import { PostgresSource } from './postgres/postgres-source';
import { sourceFactory } from './registry';
import type { Cursor } from '../cursor/cursor';
import type { Source } from './source';

/**
 * Builds the source of an integration inside the activity. `${NAME}` references are resolved here,
 * from the worker's environment, so secrets never travel through workflow inputs or history.
 * `stateDbUrl` (the sink's database) is where an HTTP source keeps rotated OAuth2 refresh tokens; a run names its
 * PostgreSQL source session (`applicationName`) after its lock tag, so `status` can say what a blocked read waits for.
 */
export async function createSource(cfg: SourceConfig, integration: string, env: NodeJS.ProcessEnv = process.env, opts: { stateDbUrl?: string; connectTimeoutMs?: number; applicationName?: string } = {}): Promise<Source> {
  const field = (name: string) => `integrations[${integration}].source.${name}`;
  if (isPostgresSource(cfg)) {
    const url = resolvePgUrl(cfg.url, field('url'), env);
    return new PostgresSource(await connectNamed(url, 'the source database', field('url'), { applicationName: opts.applicationName ?? 'tidemark-source', rowSecurityOff: cfg.rowSecurity !== 'apply', ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}) }), cfg);
  }
  const resolve = (value: string, name: string) => resolveEnvRefs(value, field(name), env);
  if (isHttpSource(cfg)) {
    const ctx = { integration, env, ...(opts.stateDbUrl ? { stateDbUrl: opts.stateDbUrl } : {}) };
    return cfg.parent ? createChildStreamSource(cfg, resolve, ctx) : createHttpSource(cfg, resolve, ctx);
  }
  if (isCsvSource(cfg)) return createCsvSource(cfg, resolve, integration);
  const { kind, module, ...options } = cfg as { kind: string; module?: string } & Record<string, unknown>;
  const made = await sourceFactory(kind, module)(options, { env: resolve });
  return asSource(kind, made, module);
}

/**
 * A cursor from outside (an operator's `checkpoint set`, the UI's rewind) checked against the
 * integration's own source: its shape, and its values in the source's column types. `refuse` turns
 * a rejection of the cursor (not a failure to open the source) into the caller's error.
 */
export async function checkCursorWithSource(cfg: SourceConfig, integration: string, value: unknown, env: NodeJS.ProcessEnv = process.env, refuse?: (err: Error) => Error): Promise<Cursor> {
  const source = await createSource(cfg, integration, env);
  try {
    await source.prepare({}); // the source's columns and types, which later() compares in
    const cursor = source.parseCursor(value);
    await source.later(cursor, cursor); // rejects values the cursor columns' types cannot hold
    return cursor;
  } catch (err) {
    throw refuse ? refuse(err as Error) : err;
  } finally {
    await source.close();
  }
}

/**
 * Whether a PostgreSQL source has no row after `cursor` (read as the sync reads: one row, no lag), for a note when
 * a checkpoint is moved there: a cursor beyond the data (a year typed wrong) makes every sync read nothing, and
 * nothing else would say so. Undefined when the source cannot be asked from here.
 */
export async function nothingAfter(cfg: SourceConfig, integration: string, cursor: Cursor, env: NodeJS.ProcessEnv = process.env, timeoutMs = 5_000): Promise<boolean | undefined> {
  let empty: boolean | undefined;
  await askSource(cfg, integration, env, timeoutMs, async (source) => {
    await source.prepare({});
    for await (const page of source.pages(cursor, { limit: 1 })) {
      empty = page.rows.length === 0;
      return;
    }
    empty = true;
  }, () => false);
  return empty;
}

/**
 * A question to a PostgreSQL source from the CLI, before a workflow starts: `ask` gets the prepared source and says
 * what is wrong (a message) or nothing; `fault` keeps an error's message only when it is the config's or the
 * input's own fault. Undefined also when the source cannot be asked from here (its URL's variables are the
 * worker's, the server does not answer within `timeoutMs`): then the worker checks, as ever.
 */
async function askSource(cfg: SourceConfig, integration: string, env: NodeJS.ProcessEnv, timeoutMs: number, ask: (source: Source) => Promise<void>, fault: (err: Error & { code?: unknown }) => boolean): Promise<string | undefined> {
  if (!isPostgresSource(cfg)) return undefined;
  let source: Source;
  try {
    source = await createSource(cfg, integration, env, { connectTimeoutMs: timeoutMs });
  } catch {
    return undefined;
  }
  try {
    await ask(source);
    return undefined;
  } catch (err) {
    return fault(err as Error) ? (err as Error).message : undefined;
  } finally {
    await source.close().catch(() => undefined);
  }
}

/** Whether a PostgreSQL source takes a cursor's values (`backfill --from`): the message of its refusal, or undefined. */
export function cursorValueProblem(cfg: SourceConfig, integration: string, value: unknown, env: NodeJS.ProcessEnv = process.env, timeoutMs = 5_000): Promise<string | undefined> {
  let prepared = false;
  const ask = async (source: Source) => {
    await source.prepare({});
    prepared = true;
    const cursor = source.parseCursor(value);
    await source.later(cursor, cursor);
  };
  // The cursor's own fault only (its shape, or values its types refuse: SQLSTATE class 22); a timeout, a dropped
  // connection or the table's setup (the run says so in its own words) is no verdict on it (review).
  return askSource(cfg, integration, env, timeoutMs, ask, (err) => prepared && (err.name === 'InvalidCursorError' || (typeof err.code === 'string' && err.code.startsWith('22'))));
}

/** The sink key a PostgreSQL sink reads straight from the source's columns (no mapping), with the instance column it adds. */
export function sinkKeyFromSource(it: Integration): { key: readonly string[]; added: readonly string[] } | undefined {
  const sink = it.sink;
  return isPostgresSink(sink) && !it.mapping ? { key: sink.key, added: sink.instanceColumn ? [sink.instanceColumn] : [] } : undefined;
}

/**
 * A PostgreSQL source's setup, checked before a workflow starts (`sync`, `backfill`, `resume`): what its prepare()
 * refuses for the config's own fault (a missing table, a cursor column the table lacks or that is not unique, a
 * naive timestamp without timeZone), or undefined, also for failures that say nothing of the config (a timeout, a
 * refused password the worker may not share). Found by an acceptance run: such configs started a workflow and
 * wrote state before failing.
 */
export function sourceSetupProblem(
  cfg: SourceConfig,
  integration: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 5_000,
  /** A sink key read straight from the source's columns (no mapping), and the columns tidemark adds (an instance's). */
  sinkKey?: { key: readonly string[]; added: readonly string[] },
): Promise<string | undefined> {
  return askSource(
    cfg,
    integration,
    env,
    timeoutMs,
    async (source) => {
      const names = [...(await source.prepare({})).columns.map((c) => c.name), ...(sinkKey?.added ?? [])];
      // As the run's prepareTarget words it; found there only after a workflow had started and a run row was written.
      const i = sinkKey?.key.findIndex((k) => !names.includes(k)) ?? -1;
      if (i >= 0) throw Object.assign(new Error(`sink.key[${i}]: column "${sinkKey?.key[i]}" is not among the source's columns (${names.join(', ')})`), { name: 'SourceSetupError' });
    },
    (err) => err.name === 'SourceSetupError' || err.name === 'TableNotFoundError',
  );
}
