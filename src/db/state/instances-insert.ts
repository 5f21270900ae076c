import type pg from 'pg';
import type { StoredSecret } from './instances-read';

/** Adds an instance; false when one with this id exists already (the caller compares it). */
export async function insertInstance(
  client: pg.Client,
  row: { template: string; instanceId: string; params: Record<string, string>; secrets: Record<string, StoredSecret>; weight?: number | null },
): Promise<boolean> {
  const r = await client.query(
    `INSERT INTO tidemark.instances (template, instance_id, params, secrets, weight)
     VALUES ($1::text, $2::text, $3::jsonb, $4::jsonb, $5::float8)
     ON CONFLICT (template, instance_id) DO NOTHING`,
    [row.template, row.instanceId, JSON.stringify(row.params), JSON.stringify(row.secrets), row.weight ?? null],
  );
  return r.rowCount === 1;
}
