import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { tryLockIntegration } from '../../src/db/state';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { addInstance, pauseInstance, removeInstance, resumeInstance, listInstances } from '../../src/instances';
import type { RunningDevServer } from '../../src/dev';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { digest, insertOrders, seedOrders, sql } from '../helpers/fixtures';

// Instances run through the real activity on real PostgreSQL; `remove` asks Temporal (a dev server) whether a run goes on.
let server: RunningDevServer;
let client: Client;
let src: TestDatabase;
let dst: TestDatabase;
let env: NodeJS.ProcessEnv;
let config: Config;
const KEY = Buffer.alloc(32, 3).toString('base64');

const template = (id: string, sink: Record<string, unknown>) => ({
  id,
  template: true,
  source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
  sink: { kind: 'postgres', url: '${DST_URL}', key: ['id'], create: true, ...sink },
  batchSize: 100,
});

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('inst_src'), createTestDatabase('inst_dst')]);
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  // Overlapping ids: a shared target without the instance column in its key would mix them up.
  await seedOrders(src.url, { rows: 300, table: 'public.orders_acme' });
  await seedOrders(src.url, { rows: 200, table: 'public.orders_globex' });
  env = { SRC_URL: src.url, DST_URL: dst.url, TIDEMARK_ENCRYPTION_KEY: KEY };
  config = parseConfig({
    integrations: [
      template('shared', { table: 'shared.orders', instanceColumn: 'tenant' }),
      template('own', { table: 'tenant_${instance.id}.orders' }),
    ],
  });
});
afterAll(async () => {
  await client?.connection.close();
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

function run(integration: string, mode: RunInput['mode'], runKey: string): Promise<RunResult> {
  const activities = createActivities({ config: () => config, env });
  return new MockActivityEnvironment().run(activities.runIntegration, { integration, mode, runKey }) as Promise<RunResult>;
}

const sourceRows = (tenant: string) => digest(src.url, `public.orders_${tenant}`);
const tenantRows = (tenant: string) => digest(dst.url, `(SELECT id, updated_at, status, total, note FROM shared.orders WHERE tenant = '${tenant}')`);
const instanceCount = async () => Number((await sql(dst.url, 'SELECT count(*)::text AS n FROM tidemark.instances').catch(() => [{ n: '0' }]))[0]!.n);

describe('instances of a template (real PostgreSQL, the run activity)', () => {
  it('bad input is refused before anything is written', async () => {
    const add = (o: Partial<Parameters<typeof addInstance>[0]>) => addInstance({ config, template: 'shared', instance: 'acme', secrets: { db: { env: 'SRC_URL' } }, env, ...o });
    await expect(add({ template: 'nope' })).rejects.toThrow('unknown template "nope": the config\'s templates are "shared", "own"');
    await expect(add({ instance: 'Acme!' })).rejects.toThrow('invalid instance id "Acme!": must match [a-z0-9][a-z0-9_-]*');
    await expect(add({ secrets: {} })).rejects.toThrow(/instance shared\/acme: missing secret\(s\) db: template shared uses \$\{secret\.db\}; pass --secret db=…/);
    await expect(add({ params: { region: 'eu' } })).rejects.toThrow(/unknown parameter\(s\) region: template shared uses no parameters/);
    await expect(add({ template: 'own', instance: 'acme-co' })).rejects.toThrow(/sink\.table: must be "table" or "schema\.table"/);
    await expect(add({ secrets: { db: { value: 'postgres://x' } }, env: { DST_URL: dst.url } })).rejects.toThrow(/set TIDEMARK_ENCRYPTION_KEY/);
    expect(await instanceCount()).toBe(0);
  });

  it('one shared target: each instance writes its own rows, the instance id joining the key', async () => {
    expect(await addInstance({ config, template: 'shared', instance: 'acme', secrets: { db: { env: 'SRC_URL' } }, env })).toEqual({ id: 'shared/acme', outcome: 'added' });
    // globex's secret is given by value: stored encrypted, decrypted only inside the run.
    expect(await addInstance({ config, template: 'shared', instance: 'globex', secrets: { db: { value: src.url } }, env })).toMatchObject({ outcome: 'added' });
    const stored = await sql(dst.url, `SELECT secrets::text AS s FROM tidemark.instances WHERE instance_id = 'globex'`);
    expect(stored[0]!.s).not.toContain(src.url);
    expect(stored[0]!.s).not.toContain(src.name);

    expect(await run('shared/acme', 'backfill', 'wf/a1')).toMatchObject({ rows: 300, done: true });
    expect(await run('shared/globex', 'backfill', 'wf/g1')).toMatchObject({ rows: 200, done: true });
    expect(await tenantRows('acme')).toEqual(await sourceRows('acme'));
    expect(await tenantRows('globex')).toEqual(await sourceRows('globex'));
    const pk = await sql(dst.url, `SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) AS k FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'shared.orders'::regclass AND i.indisprimary`);
    expect(pk[0]!.k).toBe('tenant,id');

    // Each instance has its own checkpoint and runs: a sync after new rows reads only the new ones.
    await insertOrders(src.url, 301, 320, { table: 'public.orders_acme', start: '2025-01-01' });
    expect(await run('shared/acme', 'sync', 'wf/a2')).toMatchObject({ rows: 20, done: true });
    expect(await tenantRows('acme')).toEqual(await sourceRows('acme'));
    const cps = await sql(dst.url, `SELECT integration, slot FROM tidemark.checkpoints ORDER BY 1, 2`);
    expect(cps).toEqual([
      { integration: 'shared/acme', slot: 'backfill' },
      { integration: 'shared/acme', slot: 'sync' },
      { integration: 'shared/globex', slot: 'backfill' },
      { integration: 'shared/globex', slot: 'sync' },
    ]);
  });

  it('a table per instance: table: tenant_${instance.id}.orders', async () => {
    await addInstance({ config, template: 'own', instance: 'acme', secrets: { db: { env: 'SRC_URL' } }, env });
    expect(await run('own/acme', 'backfill', 'wf/o1')).toMatchObject({ rows: 320, done: true });
    expect(await digest(dst.url, 'tenant_acme.orders')).toEqual(await sourceRows('acme'));
  });

  it('adding again is idempotent; other parameters or secrets are a duplicate', async () => {
    expect(await addInstance({ config, template: 'shared', instance: 'globex', secrets: { db: { value: src.url } }, env })).toMatchObject({ outcome: 'unchanged' });
    await expect(addInstance({ config, template: 'shared', instance: 'globex', secrets: { db: { env: 'SRC_URL' } }, env })).rejects.toThrow(
      'instance shared/globex already exists with other parameters or secrets: remove it first',
    );
    expect((await listInstances({ config, env })).map((i) => [i.id, i.status, i.secrets])).toEqual([
      ['own/acme', 'active', { db: 'env SRC_URL' }],
      ['shared/acme', 'active', { db: 'env SRC_URL' }],
      ['shared/globex', 'active', { db: 'encrypted' }],
    ]);
  });

  it('a run that waited for the lock while its instance was paused reads it again under the lock and does not run', async () => {
    // `instances remove` (or pause) holds the lock while it changes the row; a run that read the row before waits.
    const holder = new pg.Client({ connectionString: dst.url });
    await holder.connect();
    try {
      expect(await tryLockIntegration(holder, 'shared/acme')).toBe(true);
      const waiting = run('shared/acme', 'backfill', 'wf/a-locked');
      waiting.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500)); // it resolved the instance and waits for the lock
      await sql(dst.url, `UPDATE tidemark.instances SET status = 'paused', reason = 'removed meanwhile' WHERE template = 'shared' AND instance_id = 'acme'`);
      await holder.query('SELECT pg_advisory_unlock_all()');
      await expect(waiting).rejects.toMatchObject({ nonRetryable: true, message: expect.stringContaining('instance shared/acme is paused (removed meanwhile)') });
    } finally {
      await holder.end();
      await sql(dst.url, `UPDATE tidemark.instances SET status = 'active', reason = NULL WHERE template = 'shared' AND instance_id = 'acme'`);
    }
  });

  it('a paused instance does not run (non-retryable, naming the way back); unknown instances fail clearly', async () => {
    await pauseInstance({ config, template: 'shared', instance: 'acme', reason: 'card declined', env });
    // Paused again without a reason (an acceptance run: the reason was lost): the one it has stays.
    await pauseInstance({ config, template: 'shared', instance: 'acme', env });
    expect((await listInstances({ config, env })).find((i) => i.id === 'shared/acme')).toMatchObject({ status: 'paused', reason: 'card declined' });
    await expect(run('shared/acme', 'sync', 'wf/a3')).rejects.toMatchObject({ nonRetryable: true, message: expect.stringContaining('instance shared/acme is paused (card declined): nothing runs until `tidemark instances resume shared acme`') });
    await resumeInstance({ config, template: 'shared', instance: 'acme', env });
    expect(await run('shared/acme', 'sync', 'wf/a4')).toMatchObject({ rows: 0, done: true });
    await expect(run('shared/nobody', 'sync', 'wf/n1')).rejects.toMatchObject({ nonRetryable: true, message: expect.stringContaining('unknown instance shared/nobody') });
  });

  it('remove keeps the state for a later add; --purge deletes checkpoints, runs, dead letters, shard counters and deliveries', async () => {
    // Shard counters (sharded backfills) and the HTTP sink's ledger, of both instances: only globex's go.
    await sql(dst.url, `INSERT INTO tidemark.run_shards (run_id, shard) VALUES ('wf/g1', 0), ('wf/g1', 1), ('wf/a1', 0)`);
    await sql(dst.url, `INSERT INTO tidemark.deliveries (integration, record_key, content_hash) VALUES ('shared/globex', '1', 'h'), ('shared/acme', '1', 'h')`);
    const shardRows = async (runId: string) => (await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.run_shards WHERE run_id = '${runId}'`))[0]!.n;
    await removeInstance({ config, template: 'shared', instance: 'globex', env, client });
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.checkpoints WHERE integration = 'shared/globex'`)).toEqual([{ n: '2' }]);
    expect(await shardRows('wf/g1')).toBe('2');
    await removeInstance({ config, template: 'shared', instance: 'globex', purge: true, env, client });
    for (const table of ['checkpoints', 'runs', 'dead_letters', 'deliveries']) {
      expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.${table} WHERE integration = 'shared/globex'`)).toEqual([{ n: '0' }]);
    }
    expect(await shardRows('wf/g1')).toBe('0');
    expect(await shardRows('wf/a1')).toBe('1');
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.deliveries WHERE integration = 'shared/acme'`)).toEqual([{ n: '1' }]);
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.runs WHERE integration = 'shared/acme'`)).not.toEqual([{ n: '0' }]);
    await expect(removeInstance({ config, template: 'shared', instance: 'globex', env, client })).rejects.toThrow('unknown instance shared/globex');
  });
});
