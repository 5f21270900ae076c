import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * One writer per integration: a session advisory lock on the state connection. A crashed worker's
 * connection closes and releases it. A hung attempt (its heartbeat timed out, so Temporal already
 * retried it) still holds its connection: the retry of the same run terminates that backend, which
 * rolls back any half-written batch, and takes the lock. A different run's holder is never killed.
 */
const KEY = `hashtextextended('tidemark:' || $1::text, 0)`;

/** application_name of a run's state connection: identifies the run and attempt that holds the lock. */
export function lockTag(runKey: string, attempt: number): string {
  return `tm:${createHash('sha1').update(runKey).digest('hex').slice(0, 16)}:${attempt}`;
}

/** The application_name prefix of every session of a run (or of one shard of it), any attempt: `status` finds them by it. */
export function runSessionPrefix(runKey: string, shard?: number): string {
  return lockTag(shard === undefined ? runKey : `${runKey}#${shard}`, 0).replace(/0$/, '');
}

/**
 * `shared`: the shards of one sharded backfill hold the integration lock together (each also holds its
 * own slot's lock, see slotLockName), while a sync or an unsharded run needs it alone.
 */
export async function tryLockIntegration(client: pg.Client, integration: string, shared = false): Promise<boolean> {
  const fn = shared ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
  const r = await client.query<{ ok: string }>(`SELECT ${fn}(${KEY})::text AS ok`, [integration]);
  return r.rows[0]?.ok === 'true';
}

export async function unlockIntegration(client: pg.Client, integration: string, shared = false): Promise<void> {
  await client.query(`SELECT ${shared ? 'pg_advisory_unlock_shared' : 'pg_advisory_unlock'}(${KEY})`, [integration]);
}

/** Lock name of one checkpoint slot. An instance id `tpl/acme` has a "/" too but never clashes: a template id is never an integration id, and slots ("sync", "backfill/N") are not instance ids. */
export function slotLockName(integration: string, slot: string): string {
  return `${integration}/${slot}`;
}

/** Terminates the holder of the lock (an integration or a slot) when it is an earlier attempt of the same run; true if it did. */
export async function evictStaleAttempt(client: pg.Client, integration: string, runKey: string, attempt: number): Promise<boolean> {
  const r = await client.query<{ pid: string; application_name: string }>(
    `SELECT a.pid::text, a.application_name
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.classid = ((${KEY} >> 32) & 4294967295)::oid AND l.objid = (${KEY} & 4294967295)::oid`,
    [integration],
  );
  const prefix = runSessionPrefix(runKey);
  let evicted = false;
  for (const h of r.rows) {
    const holderAttempt = h.application_name.startsWith(prefix) ? Number(h.application_name.slice(prefix.length)) : NaN;
    if (holderAttempt < attempt) {
      await client.query('SELECT pg_terminate_backend($1::int)', [Number(h.pid)]);
      // Its other sessions carry the same name (the sink's second connection, see PostgresSink.sendAhead).
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1::text AND pid <> pg_backend_pid()', [h.application_name]);
      // Its PostgreSQL source's, the name and ':source' (a read the hung attempt left running), when on this server and
      // ours to end: another role's raises 42501, which must not fail the run (a source elsewhere ends with its socket).
      await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1::text || ':source' AND pg_has_role(usesysid, 'MEMBER')`, [h.application_name]).catch(() => undefined);
      evicted = true;
    }
  }
  return evicted;
}
