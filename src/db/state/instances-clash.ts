import type pg from 'pg';

/**
 * The instance of `template` whose Temporal workflow ids `instanceId`'s would share (workflows are
 * tidemark-<t>.<i>, tidemark-<t>.<i>-cron and tidemark-<t>.<i>-scheduled-<time>): `acme-cron` beside `acme`,
 * either way round (starts_with, not LIKE: ids may hold "_"). Undefined: none.
 */
export async function clashingInstance(client: pg.Client, template: string, instanceId: string): Promise<string | undefined> {
  const r = await client.query<{ instance_id: string }>(
    `SELECT instance_id FROM tidemark.instances
      WHERE template = $1::text AND instance_id <> $2::text
        AND ($2::text IN (instance_id || '-cron', instance_id || '-scheduled') OR starts_with($2::text, instance_id || '-scheduled-')
          OR instance_id IN ($2::text || '-cron', $2::text || '-scheduled') OR starts_with(instance_id, $2::text || '-scheduled-'))
      ORDER BY instance_id LIMIT 1`,
    [template, instanceId],
  );
  return r.rows[0]?.instance_id;
}

/**
 * Runs `fn` in a transaction holding the template's lock for adding instances: two `instances add` of `acme` and
 * `acme-cron` at once would each pass clashingInstance before the other's row exists. The second waits, then sees
 * the first's row. (A two-int4 advisory lock: apart from the bigint keys of run locks and migrations.)
 */
export async function withInstancesLock<T>(client: pg.Client, template: string, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.instances'), hashtext($1::text))`, [template]);
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
