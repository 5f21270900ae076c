import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { lockDataDir } from './data-dir-lock';
import { closeQuietly, connect, pgAddress } from '../pg/connect';
import { startDevServer, type RunningDevServer } from './dev-server';
import { checkPgDataDir, startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres';

export interface StackOptions {
  /** Keeps Temporal's SQLite file (temporal.sqlite) and the PostgreSQL cluster (pg/) here across runs. */
  dataDir?: string;
  /** The PostgreSQL cluster's folder, when not <dataDir>/pg (see defaultDevPgDataDir). */
  pgDataDir?: string;
  temporalPort?: number;
  /** Web UI port (with `ui`); a free one when omitted. */
  uiPort?: number;
  /** Temporal's own /metrics port; random when omitted. */
  temporalMetricsPort?: number;
  pgPort?: number;
  ui?: boolean;
  /** Receives the Temporal server's log output. */
  onLog?: (text: string) => void;
}

export interface RunningStack {
  temporalAddress: string;
  databaseUrl: string;
  uiUrl?: string;
  stop(): Promise<void>;
  /** Settles, with why, when one of the servers ends without stop(): the stack is then half gone. */
  exited: Promise<string>;
}

/** Temporal dev server plus PostgreSQL ($DATABASE_URL when set, else an embedded cluster). */
export async function startStack(opts: StackOptions = {}): Promise<RunningStack> {
  const dataDir = opts.dataDir ? path.resolve(opts.dataDir) : undefined;
  const externalDb = process.env.DATABASE_URL;
  const pgDataDir = opts.pgDataDir ?? (dataDir ? path.join(dataDir, 'pg') : undefined);
  // Refused before Temporal starts (and writes its SQLite file there): nothing left behind by a refusal.
  if (!externalDb && pgDataDir) await checkPgDataDir(pgDataDir);
  if (externalDb) await checkExternalDb(externalDb);
  // Before anything starts there: a second stack on the folder disturbed the first one's Temporal server.
  let release = () => undefined as void;
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    release = lockDataDir(dataDir, externalDb ? undefined : pgDataDir);
  }
  const [temporal, postgres] = await Promise.allSettled([
    startDevServer({
      port: opts.temporalPort,
      uiPort: opts.uiPort,
      ...(opts.temporalMetricsPort !== undefined ? { metricsPort: opts.temporalMetricsPort } : {}),
      ui: opts.ui,
      dbFile: dataDir ? path.join(dataDir, 'temporal.sqlite') : undefined,
      onLog: opts.onLog,
    }),
    externalDb
      ? Promise.resolve(undefined)
      : startEmbeddedPostgres({ port: opts.pgPort, dataDir: pgDataDir }),
  ]);
  if (temporal.status === 'rejected' || postgres.status === 'rejected') {
    // Don't leave the half that did start running.
    await Promise.all([
      temporal.status === 'fulfilled' ? temporal.value.stop() : undefined,
      postgres.status === 'fulfilled' ? postgres.value?.stop() : undefined,
    ]);
    release();
    throw temporal.status === 'rejected' ? temporal.reason : (postgres as PromiseRejectedResult).reason;
  }
  const server: RunningDevServer = temporal.value;
  const db: RunningPostgres | undefined = postgres.value;
  let stopping: Promise<void> | undefined;
  return {
    temporalAddress: server.address,
    databaseUrl: db?.url ?? (externalDb as string),
    uiUrl: server.uiUrl,
    stop: () => (stopping ??= Promise.all([server.stop(), db?.stop()]).then(() => release())),
    exited: Promise.race([server.exited, ...(db ? [db.exited] : [])]),
  };
}

/**
 * $DATABASE_URL must answer before the stack says it is ready (no PostgreSQL is started then): a typo or a server
 * that is down showed only later, as every run failing.
 */
async function checkExternalDb(url: string): Promise<void> {
  const where = pgAddress(url);
  if (!where) throw new Error('DATABASE_URL is not a PostgreSQL URL (postgres://user:password@host:port/database): fix it, or unset it to let tidemark start its own PostgreSQL');
  const client = await connect(url, { connectTimeoutMs: 10_000, applicationName: 'tidemark-dev' }).catch((err: unknown) => {
    throw new Error(`cannot use DATABASE_URL (${where}): ${(err as Error).message}. Check that server and the URL, or unset DATABASE_URL to let tidemark start its own PostgreSQL`, { cause: err });
  });
  await closeQuietly(client);
}
