import pg from 'pg';
import { connectionConfig } from '../../pg/connect';

/** Bound on opening the second session and sending the cancel: it runs on error and shutdown paths. */
const CANCEL_TIMEOUT_MS = 5_000;

/**
 * Cancels the statement running on backend `pid` (the session of `client`) from a second session. A
 * query the client gave up on (abort, close) keeps running on the server, holding its locks and a
 * connection slot, until it ends or is cancelled. pg_cancel_backend needs the same role (or
 * pg_signal_backend): a session opened with the same URL has it. Only a backend still running a
 * statement is signalled. Returns whether one was; never throws.
 */
export async function cancelBackend(client: pg.Client, pid: number): Promise<boolean> {
  const same = connectionConfig(client) ?? { host: client.host, port: client.port, user: client.user, database: client.database, password: client.password };
  const other = new pg.Client({ ...same, application_name: 'tidemark-cancel', connectionTimeoutMillis: CANCEL_TIMEOUT_MS, query_timeout: CANCEL_TIMEOUT_MS });
  other.on('error', () => undefined);
  try {
    await other.connect();
    const r = await other.query<{ ok: boolean }>(
      "SELECT pg_cancel_backend(pid) AS ok FROM pg_stat_activity WHERE pid = $1::int AND state NOT IN ('idle', 'idle in transaction')",
      [pid],
    );
    return r.rows[0]?.ok === true;
  } catch {
    return false;
  } finally {
    await other.end().catch(() => undefined);
  }
}
