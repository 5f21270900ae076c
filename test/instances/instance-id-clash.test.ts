import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate';
import { clashingInstance, insertInstance } from '../../src/db/state';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('instance_clash');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await migrate(client);
  for (const id of ['acme', 'a_b', 'globex-scheduled-2']) await insertInstance(client, { template: 'shop', instanceId: id, params: {}, secrets: {} });
  await insertInstance(client, { template: 'other', instanceId: 'initech', params: {}, secrets: {} });
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

describe('instance ids that would share Temporal workflow ids with a sibling', () => {
  it('finds the sibling either way round, in the same template only, "_" taken literally', async () => {
    expect(await clashingInstance(client, 'shop', 'acme-cron')).toBe('acme');
    expect(await clashingInstance(client, 'shop', 'acme-scheduled')).toBe('acme');
    expect(await clashingInstance(client, 'shop', 'acme-scheduled-x')).toBe('acme');
    expect(await clashingInstance(client, 'shop', 'globex')).toBe('globex-scheduled-2');
    expect(await clashingInstance(client, 'shop', 'a_b-cron')).toBe('a_b');
    // Not clashes: another name, another template, "_" as a wildcard, the id itself (adding it again is idempotent).
    for (const id of ['acme-crons', 'acme2-cron', 'axb-scheduled-1', 'acme', 'initech-cron']) expect(await clashingInstance(client, 'shop', id), id).toBeUndefined();
    expect(await clashingInstance(client, 'other', 'acme-cron')).toBeUndefined();
  });
});
