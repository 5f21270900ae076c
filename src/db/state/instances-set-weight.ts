import type pg from 'pg';

/** Sets an instance's own fairness weight (null: back to the template's); false when there is no such instance. */
export async function updateInstanceWeight(client: pg.Client, template: string, instanceId: string, weight: number | null): Promise<boolean> {
  const r = await client.query(
    `UPDATE tidemark.instances SET weight = $3::float8, updated_at = now()
      WHERE template = $1::text AND instance_id = $2::text`,
    [template, instanceId, weight],
  );
  return r.rowCount === 1;
}
