import pg from 'pg';
import { UrlUserinfoError, urlUserinfoProblem } from '../errors';

/**
 * Every value stays text: identity parsers (text in, text out) keep timestamps exact to the
 * microsecond, numerics exact, and cost no parsing. Session settings make that text canonical.
 */
const textTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

// standard_conforming_strings: literals inlined into COPY (which takes no parameters) escape only quotes.
// bytea_output and lc_monetary: a database whose default is the escape form or another currency locale gives
// the same text as the others (verify compares values as text; money read in one locale is written in another).
const SESSION_SETUP =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET standard_conforming_strings = on; SET bytea_output = 'hex'; SET lc_monetary = 'C'";

export interface ConnectOptions {
  applicationName?: string;
  /** Raw typed values instead of text (for tidemark's own state queries). */
  typed?: boolean;
  /** Give up connecting, and any one query, after this long (default: the OS's own TCP timeout, no query limit). */
  connectTimeoutMs?: number;
  /**
   * `row_security = off` (as pg_dump reads): a query that row-level security would filter for this role fails
   * instead (42501), so a source never reads part of a table without a word (see SourceRowSecurityError).
   */
  rowSecurityOff?: boolean;
}

// How each client was opened, so a second session can reach the same server as the same user
// (to cancel a query stuck on the first one: see sources/postgres/cancel-query.ts).
const configs = new WeakMap<pg.Client, pg.ClientConfig>();
const typedClients = new WeakSet<pg.Client>();
const rowSecurityOffClients = new WeakSet<pg.Client>();

export async function connect(url: string, opts: ConnectOptions = {}): Promise<pg.Client> {
  const config: pg.ClientConfig = {
    connectionString: url,
    application_name: opts.applicationName ?? 'tidemark',
    keepAlive: true,
    ...(opts.connectTimeoutMs ? { connectionTimeoutMillis: opts.connectTimeoutMs, query_timeout: opts.connectTimeoutMs } : {}),
  };
  const client = new pg.Client({ ...config, types: opts.typed ? undefined : textTypes });
  configs.set(client, config);
  if (opts.typed) typedClients.add(client);
  if (opts.rowSecurityOff) rowSecurityOffClients.add(client);
  // A dropped connection emits 'error' on the client; without a listener that would crash the worker.
  client.on('error', () => undefined);
  await client.connect();
  await client.query(opts.rowSecurityOff ? `${SESSION_SETUP}; SET row_security = off` : SESSION_SETUP);
  return client;
}

/** Where a PostgreSQL URL points (host:port/database), never its password: for errors that must name a database. */
export function pgAddress(url: string): string | undefined {
  if (urlUserinfoProblem(url)) return undefined; // its "host" and "path" are pieces of the password
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return undefined; // not a URL
  }
}

/**
 * connect(), with a failure that names the database (`what`, its address, `detail`): a bare "connect ECONNREFUSED"
 * or "too many clients" said neither which database nor what it is for (an acceptance run). The error keeps its
 * `code`, so retries and permanent failures are told apart as before.
 */
export async function connectNamed(url: string, what: string, detail: string | undefined, opts: ConnectOptions = {}): Promise<pg.Client> {
  const problem = urlUserinfoProblem(url);
  if (problem) throw new UrlUserinfoError(detail ?? `the URL of ${what}`, problem);
  try {
    return await connect(url, opts);
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const at = pgAddress(url);
    const named = `cannot reach ${what}${at ? ` at ${at}` : ''}${detail ? ` (${detail})` : ''}: ${e.message}`;
    throw Object.assign(new Error(named, { cause: err }), e.code !== undefined ? { code: e.code } : {});
  }
}

/**
 * Another session like `client`'s: the same URL, application name, value types and session settings, row_security
 * included (undefined for clients not made by connect()). The caller closes it.
 */
export async function connectLike(client: pg.Client): Promise<pg.Client | undefined> {
  const config = configs.get(client);
  if (!config?.connectionString) return undefined;
  return connect(config.connectionString, {
    typed: typedClients.has(client),
    rowSecurityOff: rowSecurityOffClients.has(client),
    ...(config.application_name ? { applicationName: config.application_name } : {}),
  });
}

/** Settings to open another session like `client`'s (the same URL; `undefined` for clients not made by connect()). */
export function connectionConfig(client: pg.Client): pg.ClientConfig | undefined {
  return configs.get(client);
}

export async function closeQuietly(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  try {
    await client.end();
  } catch {
    /* already closed */
  }
}

/** Redacts the password of a postgres URL for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
