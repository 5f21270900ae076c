import type { MockApi } from '../../src/mock-api';
import { compareTables, type Comparison } from './compare';
import { sql } from './sql';

/**
 * The mock API's exact current dataset as a table next to the target (same columns and types:
 * `LIKE` the target, filled by jsonb_populate_recordset), then source-vs-target as for PostgreSQL.
 */
export async function compareWithApi(api: MockApi, dstUrl: string, target: string): Promise<Comparison> {
  const expected = `${target}_expected`;
  await sql(dstUrl, `DROP TABLE IF EXISTS ${expected}; CREATE TABLE ${expected} (LIKE ${target})`);
  await sql(dstUrl, `INSERT INTO ${expected} SELECT * FROM jsonb_populate_recordset(NULL::${expected}, $1::jsonb)`, [JSON.stringify(api.snapshot())]);
  try {
    return await compareTables({ url: dstUrl, table: expected }, { url: dstUrl, table: target });
  } finally {
    await sql(dstUrl, `DROP TABLE IF EXISTS ${expected}`);
  }
}
