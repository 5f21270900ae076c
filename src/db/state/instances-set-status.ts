import type pg from 'pg';
import type { InstanceStatus } from './instances-read';

/** Sets an instance's status (and why); false when there is no such instance. */
export async function setInstanceStatus(client: pg.Client, template: string, instanceId: string, status: InstanceStatus, reason: string | null): Promise<boolean> {
  const r = await client.query(
    `UPDATE tidemark.instances SET status = $3::text, reason = $4::text, updated_at = now()
      WHERE template = $1::text AND instance_id = $2::text`,
    [template, instanceId, status, reason],
  );
  return r.rowCount === 1;
}
