import type pg from 'pg';

/**
 * The one shard of a run that may go on waiting for a range to take once its first look is over (stealWork): a
 * session advisory lock on the shard's state connection (two-int4, apart from the bigint keys of run locks), so it
 * goes with the connection if the worker dies. False: another shard of the run holds it.
 */
export async function tryStealWaiter(client: pg.Client, integration: string, runKey: string): Promise<boolean> {
  const r = await client.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(hashtext('tidemark.steal-waiter'), hashtext($1::text || ' ' || $2::text)) AS got`, [integration, runKey]);
  return r.rows[0]?.got === true;
}

export async function releaseStealWaiter(client: pg.Client, integration: string, runKey: string): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(hashtext('tidemark.steal-waiter'), hashtext($1::text || ' ' || $2::text))`, [integration, runKey]);
}
