import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate';
import { parseConfig } from '../../src/config';
import { clashingInstance, insertInstance } from '../../src/db/state';
import { addInstance } from '../../src/instances';
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

  it('two `instances add` at once of acme and acme-cron: one is added, the other refused (check and insert hold the template lock)', async () => {
    const config = parseConfig({
      integrations: [
        {
          id: 'race',
          template: true,
          source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders', cursor: ['updated_at', 'id'] },
          sink: { kind: 'postgres', url: '${DST_URL}', table: 'race.orders', key: ['id'], instanceColumn: 'tenant', create: true },
        },
      ],
    });
    const env = { DST_URL: db.url, SRC_URL: db.url };
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      // Both adds start while the template's lock is held: without the lock both would pass the check before either inserts.
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.instances'), hashtext('race'))`);
      const add = (instance: string) => addInstance({ config, template: 'race', instance, secrets: { db: { env: 'SRC_URL' } }, env }).then((r) => r.outcome, (err: Error) => err.name);
      const both = Promise.all([add('acme'), add('acme-cron')]);
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('COMMIT');
      expect((await both).sort()).toEqual(['ClashingInstanceIdError', 'added']);
      expect((await client.query(`SELECT count(*)::int AS n FROM tidemark.instances WHERE template = 'race'`)).rows[0]).toEqual({ n: 1 });
    } finally {
      await holder.end();
    }
  });
});
