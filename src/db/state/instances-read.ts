import type pg from 'pg';

/** A secret as stored: a reference to the worker's environment, or ciphertext (see src/instances/secret-cipher). */
export type StoredSecret = { env: string } | { encrypted: string; keyId: string };
export type InstanceStatus = 'active' | 'paused' | 'needs_reauth';

export interface InstanceRow {
  template: string;
  instanceId: string;
  params: Record<string, string>;
  secrets: Record<string, StoredSecret>;
  status: InstanceStatus;
  reason: string | null;
  /** Its own fairness weight; null: the template's `fairnessWeight`, else 1. */
  weight: number | null;
  createdAt: string;
  updatedAt: string;
}

/** Every value as text (state connections do not parse types): the jsonb columns are parsed below. */
export const INSTANCE_COLUMNS = `template, instance_id, params::text, secrets::text, status, reason, weight::text, created_at::text, updated_at::text`;

export function instanceOf(r: Record<string, unknown>): InstanceRow {
  return {
    template: r.template as string,
    instanceId: r.instance_id as string,
    params: JSON.parse(r.params as string) as Record<string, string>,
    secrets: JSON.parse(r.secrets as string) as Record<string, StoredSecret>,
    status: r.status as InstanceStatus,
    reason: (r.reason as string | null) ?? null,
    weight: r.weight === null || r.weight === undefined ? null : Number(r.weight),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export async function readInstance(client: pg.Client, template: string, instanceId: string): Promise<InstanceRow | undefined> {
  const r = await client.query(`SELECT ${INSTANCE_COLUMNS} FROM tidemark.instances WHERE template = $1::text AND instance_id = $2::text`, [template, instanceId]);
  return r.rows[0] ? instanceOf(r.rows[0] as Record<string, unknown>) : undefined;
}
