import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate';
import { clashingInstance, insertInstance, withInstancesLock } from '../../src/db/state';
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

  it('two adds at once of acme and acme-cron: one is added, the other refused (the check and the insert hold the template lock)', async () => {
    const [a, b, holder] = [0, 1, 2].map(() => new pg.Client({ connectionString: db.url }));
    await Promise.all([a!.connect(), b!.connect(), holder!.connect()]);
    try {
      // Both adds start while the template's lock is held, so both pass nothing before the other could insert.
      await holder!.query('BEGIN');
      await holder!.query(`SELECT pg_advisory_xact_lock(hashtext('tidemark.instances'), hashtext('race'))`);
      const add = (c: pg.Client, id: string) =>
        withInstancesLock(c, 'race', async () => {
          const other = await clashingInstance(c, 'race', id);
          if (other) return `clash with ${other}`;
          return (await insertInstance(c, { template: 'race', instanceId: id, params: {}, secrets: {} })) ? 'added' : 'exists';
        });
      const both = Promise.all([add(a!, 'acme'), add(b!, 'acme-cron')]);
      await new Promise((r) => setTimeout(r, 200));
      await holder!.query('COMMIT');
      expect((await both).sort()).toEqual(expect.arrayContaining(['added']));
      expect((await both).filter((o) => o.startsWith('clash with '))).toHaveLength(1);
      expect((await client.query(`SELECT count(*)::int AS n FROM tidemark.instances WHERE template = 'race'`)).rows[0]).toEqual({ n: 1 });
    } finally {
      await Promise.all([a!.end(), b!.end(), holder!.end()]);
    }
  });
});
