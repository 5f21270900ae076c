import { randomBytes } from 'node:crypto';
import { sql } from './sql';

export interface ChaosDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the server of `adminUrl` (dropped, connections and all, by `drop`). */
export async function createDatabase(adminUrl: string, prefix: string): Promise<ChaosDatabase> {
  const name = `chaos_${prefix.replace(/[^a-z0-9_]+/g, '_').slice(0, 24)}_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  await sql(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => sql(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => undefined) };
}
