import type pg from 'pg';
import { closeQuietly, connectNamed } from '../pg/connect';
import { migrate } from './migrate';
import { tryLockIntegration } from './state/integration-lock';

/**
 * The one way into tidemark's state tables (in an integration's sink database): connect with an
 * application name, migrate, and optionally take the integration's exclusive session lock (held until
 * the connection closes). Used by the activities, verify, dead letters, the CLI and the UI.
 */
export interface StateSessionOptions {
  applicationName: string;
  /** Take this integration's session lock; when another session holds it, throw `busy()`. */
  lock?: { integration: string; busy: () => Error };
  /** Give up connecting, and any one query, after this long (a CLI check that may go on without the answer). */
  connectTimeoutMs?: number;
}

/** Migrates `db` (an open connection to the state database) and takes the lock `opts.lock` asks for. */
export async function prepareStateSession(db: pg.Client, opts: Pick<StateSessionOptions, 'lock'> = {}): Promise<void> {
  await migrate(db);
  if (opts.lock && !(await tryLockIntegration(db, opts.lock.integration))) throw opts.lock.busy();
}

const STATE_DB = "the sink's database, which holds tidemark's checkpoints and runs";

/** A migrated (and, with `opts.lock`, locked) connection to the state database; the caller closes it. */
export async function openStateSession(url: string, opts: StateSessionOptions): Promise<pg.Client> {
  const db = await connectNamed(url, 'the state database', STATE_DB, { applicationName: opts.applicationName });
  try {
    await prepareStateSession(db, opts);
    return db;
  } catch (err) {
    await closeQuietly(db);
    throw err;
  }
}

/**
 * Runs `fn` on a state session (see openStateSession) and always closes it, which also releases the lock.
 * `mapError`: applied to what fails once connected (migrate, lock, fn), e.g. an activity's toFailure.
 */
export async function withStateSession<T>(
  url: string,
  opts: StateSessionOptions & { mapError?: (err: unknown) => unknown },
  fn: (db: pg.Client) => Promise<T>,
): Promise<T> {
  const db = await connectNamed(url, 'the state database', STATE_DB, { applicationName: opts.applicationName, ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}) });
  try {
    await prepareStateSession(db, opts);
    return await fn(db);
  } catch (err) {
    throw opts.mapError ? opts.mapError(err) : err;
  } finally {
    await closeQuietly(db);
  }
}
