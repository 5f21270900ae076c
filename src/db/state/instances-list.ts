import type pg from 'pg';
import { INSTANCE_COLUMNS, instanceOf, type InstanceRow } from './instances-read';

/** The instances of the given templates, by template and id. */
export async function listInstanceRows(client: pg.Client, templates: string[]): Promise<InstanceRow[]> {
  const r = await client.query(`SELECT ${INSTANCE_COLUMNS} FROM tidemark.instances WHERE template = ANY($1::text[]) ORDER BY template, instance_id`, [templates]);
  return r.rows.map((row) => instanceOf(row as Record<string, unknown>));
}
