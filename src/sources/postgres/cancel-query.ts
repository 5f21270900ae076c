import { createConnection } from 'node:net';
import pg from 'pg';
import { connectionConfig } from '../../pg/connect';

/** Bound on opening the second session and sending the cancel: it runs on error and shutdown paths. */
const CANCEL_TIMEOUT_MS = 5_000;

/** How a cancel went: `failure` says why no cancel could be sent (then the statement may still run). */
export interface CancelOutcome {
  cancelled: boolean;
  failure?: string;
}

/**
 * Cancels the statement running on backend `pid` (the session of `client`) from a second session. A
 * query the client gave up on (abort, close) keeps running on the server, holding its locks and a
 * connection slot, until it ends or is cancelled. pg_cancel_backend needs the same role (or
 * pg_signal_backend): a session opened with the same URL has it. Only a backend still running a
 * statement is signalled. When no second session can be had (max_connections, the role's CONNECTION
 * LIMIT: acceptance L), the protocol's CancelRequest is sent instead, which takes no connection slot.
 * Never throws.
 */
export async function cancelBackend(client: pg.Client, pid: number): Promise<CancelOutcome> {
  const same = connectionConfig(client) ?? { host: client.host, port: client.port, user: client.user, database: client.database, password: client.password };
  const other = new pg.Client({ ...same, application_name: 'tidemark-cancel', connectionTimeoutMillis: CANCEL_TIMEOUT_MS, query_timeout: CANCEL_TIMEOUT_MS });
  other.on('error', () => undefined);
  let why: string;
  try {
    await other.connect();
    const r = await other.query<{ ok: boolean }>(
      "SELECT pg_cancel_backend(pid) AS ok FROM pg_stat_activity WHERE pid = $1::int AND state NOT IN ('idle', 'idle in transaction')",
      [pid],
    );
    return { cancelled: r.rows[0]?.ok === true };
  } catch (err) {
    why = (err as Error).message;
  } finally {
    await other.end().catch(() => undefined);
  }
  const sent = await sendCancelRequest(client, pid);
  return sent === true ? { cancelled: true } : { cancelled: false, failure: `a second session: ${why}; a CancelRequest: ${sent}` };
}

/**
 * The protocol's CancelRequest (a 16-byte packet on a new socket, no login): PostgreSQL answers nothing, so
 * true means sent. The socket is the session's own host and port (its Unix socket for a path).
 */
function sendCancelRequest(client: pg.Client, pid: number): Promise<true | string> {
  const { secretKey: key, processID } = client as unknown as { secretKey?: number | null; processID?: number | null };
  if (typeof key !== 'number') return Promise.resolve('the session has no cancel key (a pooler in between?)');
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4); // the CancelRequest code
  // The process id the server gave with the key (BackendKeyData): behind a pooler it is the pooler's, not the backend's.
  packet.writeInt32BE(typeof processID === 'number' ? processID : pid, 8);
  packet.writeInt32BE(key, 12);
  const host = client.host ?? 'localhost';
  const port = client.port ?? 5432;
  return new Promise((resolve) => {
    const socket = host.startsWith('/') ? createConnection(`${host}/.s.PGSQL.${port}`) : createConnection(port, host);
    const timer = setTimeout(() => finish(`no answer from ${host}:${port} within ${CANCEL_TIMEOUT_MS / 1000} s`), CANCEL_TIMEOUT_MS);
    const finish = (result: true | string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    socket.on('error', (err) => finish(err.message));
    socket.on('connect', () => socket.end(packet, () => finish(true)));
  });
}
