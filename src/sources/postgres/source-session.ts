import type pg from 'pg';
import { closeQuietly } from '../../pg/connect';
import { abortError } from '../../util/abort-error';
import { formatDuration } from '../../config/duration';
import { warnInActivity } from '../../util/activity-log';
import { cancelBackend } from './cancel-query';
import { isRowSecurityRefusal, SourcePrivilegeError, SourceRowSecurityError, SourceStatementTimeoutError, SourceTableChangedError } from './source-errors';

/** How long close() waits for the connection to end after cancelling a stuck statement. */
const CLOSE_WAIT_MS = 5_000;

/**
 * The source's connection, with every statement bounded: `statement_timeout` (source.statementTimeout)
 * is set on the session before its first statement, an aborted read cancels the backend's statement
 * (not only the client's wait for it), and close() cancels whatever still runs, so it never hangs on
 * a stuck query and leaves nothing running on the source.
 */
export class SourceSession {
  private pid: number | undefined;
  private active = 0;
  private cancelling: Promise<boolean> | undefined;

  constructor(
    readonly client: pg.Client,
    private readonly table: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Runs `fn` (statements on this session). With `signal`, an abort cancels the statement on the
   * server and throws the abort's error (a worker shutdown: a plain retryable error). A statement
   * the server cancelled becomes a retryable SourceStatementTimeoutError naming source.statementTimeout.
   */
  async run<T>(what: string, fn: (client: pg.Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortError(signal);
    await this.open();
    this.warnedPid = undefined; // a new statement: its own cancel may fail, and is said
    this.active++;
    const work = fn(this.client).finally(() => this.active--);
    // On abort: cancel on the server, which makes `work` fail at once; should the cancel itself fail
    // (no second connection to be had), stop waiting anyway: close() then drops the connection.
    let onAbort = () => undefined as void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => void this.cancel().then((ok) => ok || reject(abortError(signal as AbortSignal)));
    });
    aborted.catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([work, aborted]);
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      if ((err as { code?: unknown } | null)?.code === '57014') {
        throw new SourceStatementTimeoutError(this.table, what, this.timeoutMs, /statement timeout/i.test((err as Error).message));
      }
      if (isRowSecurityRefusal(err)) throw new SourceRowSecurityError(this.table, err as Error);
      // PostgreSQL says "permission denied for table orders3": not which side, which role, nor the grant (acceptance L).
      if ((err as { code?: unknown } | null)?.code === '42501') throw new SourcePrivilegeError(this.table, this.client.user ?? 'tidemark\'s role', err as Error);
      if (['42703', '42P01'].includes(String((err as { code?: unknown } | null)?.code))) throw new SourceTableChangedError(this.table, err as Error);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      work.catch(() => undefined); // settled later when the race was lost to an abort
    }
  }

  private async open(): Promise<void> {
    if (this.pid !== undefined) return;
    const r = await this.client.query<{ pid: string }>("SELECT pg_backend_pid()::text AS pid, set_config('statement_timeout', $1::text, false)", [
      String(Math.round(this.timeoutMs)),
    ]);
    this.pid = Number(r.rows[0]?.pid);
  }

  /** Cancels the statement in flight on the server (once, however many aborts ask). */
  private warnedPid: number | undefined;

  private cancel(): Promise<boolean> {
    if (this.pid === undefined) return Promise.resolve(false);
    const pid = this.pid;
    this.cancelling ??= cancelBackend(this.client, pid)
      .then(({ cancelled, failure }) => {
        // Nothing silent (acceptance L): the statement may go on holding its locks and a connection slot.
        // Once per backend: an abort and the close after it both try (a review saw the warning twice).
        if (failure && this.warnedPid !== pid) {
          this.warnedPid = pid;
          warnInActivity(
            `could not cancel the statement on source table ${this.table} (backend ${pid}): it may go on running on the server, holding its locks and a connection, until source.statementTimeout (${formatDuration(this.timeoutMs)}) ends it; to end it now, run SELECT pg_cancel_backend(${pid}) as its role or a superuser`,
            { table: this.table, pid, reason: failure },
          );
        }
        return cancelled;
      })
      .finally(() => {
        this.cancelling = undefined;
      });
    return this.cancelling;
  }

  async close(): Promise<void> {
    if (this.active > 0) await this.cancel();
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      closeQuietly(this.client).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    // The server never answered the goodbye: drop the socket (the statement was cancelled above).
    if (!ended) (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}
