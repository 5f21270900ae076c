import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startIntegrationRun, waitForResult } from '../../src/client';
import { parseConfig, type Config } from '../../src/config';
import { startDevServer, type RunningDevServer } from '../../src/dev';
import { addInstance, removeInstance } from '../../src/instances';
import { INSTANCE_ATTRIBUTE, INTEGRATION_ATTRIBUTE, isUnregisteredSearchAttributeError, SEARCH_ATTRIBUTES_COMMAND, withSearchAttributes } from '../../src/instances/search-attributes';
import { applySchedules, scheduleIdFor } from '../../src/schedules';
import { desiredSchedule } from '../../src/schedules/schedule-spec';
import { ensureInstanceSchedule, instanceScheduleOptions, type ScheduledTemplate } from '../../src/schedules/instance-schedules';
import { createWorker } from '../../src/worker';
import { seedOrders } from '../helpers/fixtures';
import { sleep, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, timeSkippingEnv, type TestDatabase } from '../setup/database';

// The dev server (as `tidemark dev` starts it) registers the attributes; the time-skipping server lacks them.
const QUEUE = 'sa-queue';
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let client: Client;
let worker: Worker;
let running: Promise<void>;
let config: Config;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('sa_src'), createTestDatabase('sa_dst')]);
  await seedOrders(src.url, { rows: 50, table: 'public.orders_acme' });
  await seedOrders(src.url, { rows: 50, table: 'public.orders_globex' });
  env = { SRC_URL: src.url, DST_URL: dst.url, TIDEMARK_TASK_QUEUE: QUEUE };
  config = parseConfig({
    integrations: [
      {
        id: 'shop',
        template: true,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'shared.orders', instanceColumn: 'tenant', key: ['id'], create: true },
        schedule: { every: '1h' },
      },
      {
        id: 'plain',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_acme', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
        schedule: { every: '1h' },
      },
    ],
  });
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: QUEUE,
    config: () => config,
    env,
    worker: { workflowBundle: await workflowBundle() },
  });
  running = worker.run();
});
afterAll(async () => {
  await client?.connection.close();
  worker?.shutdown();
  await running;
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

/** Visibility is eventually consistent: poll the listing. */
async function listUntil(query: string, want: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    if (ids.length >= want || Date.now() > deadline) return ids.sort();
    await sleep(200);
  }
}

describe('search attributes TidemarkTemplate / TidemarkInstance / TidemarkIntegration', () => {
  it('a run of an instance is found by TidemarkInstance; its schedule starts workflows that carry them', async () => {
    for (const instance of ['acme', 'globex']) {
      await addInstance({ config, template: 'shop', instance, client, env, taskQueue: QUEUE });
    }
    expect(await waitForResult(await startIntegrationRun(client, 'sync', { integration: 'shop/acme' }, QUEUE))).toMatchObject({ rows: 50 });
    expect(await listUntil('TidemarkInstance = "acme"', 1)).toEqual(['tidemark-shop.acme']);
    expect(await listUntil('TidemarkIntegration = "shop/acme" AND TidemarkTemplate = "shop"', 1)).toEqual(['tidemark-shop.acme']);

    // The schedule's action carries them too: a triggered run of globex is found by its instance.
    const schedule = client.schedule.getHandle(scheduleIdFor('shop/globex'));
    const action = (await schedule.describe()).action;
    const attrs = action.type === 'startWorkflow' ? action.typedSearchAttributes : undefined;
    expect(attrs && !Array.isArray(attrs) ? attrs.get(INSTANCE_ATTRIBUTE) : attrs).toBe('globex');
    await schedule.trigger();
    const ids = await listUntil('TidemarkInstance = "globex"', 1);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^tidemark-shop\.globex-scheduled-/);
    // Nothing of acme's is listed under globex's filter.
    expect(await listUntil('TidemarkInstance = "acme"', 1)).toEqual(['tidemark-shop.acme']);
    for (const instance of ['acme', 'globex']) await removeInstance({ config, template: 'shop', instance, client, env, cancel: true }); // globex's triggered run may still go on
  });

  it('a schedule made without them (before this version) is updated to carry them', async () => {
    const t = config.templates!.find((x) => x.id === 'shop') as ScheduledTemplate;
    await client.schedule.create(instanceScheduleOptions(t, 'shop/old', 'old', QUEUE).want);
    const r = await ensureInstanceSchedule(client, t, 'shop/old', 'old', QUEUE);
    expect(r).toMatchObject({
      outcome: 'updated',
      detail: 'search attribute TidemarkIntegration (none) → shop/old, search attribute TidemarkTemplate (none) → shop, search attribute TidemarkInstance (none) → old',
    });
    expect(await ensureInstanceSchedule(client, t, 'shop/old', 'old', QUEUE)).toMatchObject({ outcome: 'unchanged' });
    await client.schedule.getHandle(r.scheduleId).delete();
  });

  it('a plain integration\'s schedule carries TidemarkIntegration: created with it, an older one updated, its runs found by it', async () => {
    const handle = client.schedule.getHandle(scheduleIdFor('plain'));
    // Made as before this version: without the attribute.
    await client.schedule.create(desiredSchedule({ id: 'plain', schedule: config.integrations[0]!.schedule! }, QUEUE));
    const apply = async () => (await applySchedules(client, config, { taskQueue: QUEUE, env })).find((r) => r.integration === 'plain');
    expect(await apply()).toMatchObject({ outcome: 'updated', detail: 'search attribute TidemarkIntegration (none) → plain' });
    expect(await apply()).toMatchObject({ outcome: 'unchanged' });
    await handle.delete();
    expect(await apply()).toMatchObject({ outcome: 'created' });
    const action = (await handle.describe()).action;
    const attrs = action.type === 'startWorkflow' ? action.typedSearchAttributes : undefined;
    expect(attrs && !Array.isArray(attrs) ? attrs.get(INTEGRATION_ATTRIBUTE) : attrs).toBe('plain');
    await handle.trigger();
    const ids = await listUntil('TidemarkIntegration = "plain"', 1);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^tidemark-plain-scheduled-/);
    await handle.delete();
  });

  describe('a server without the attributes', () => {
    let bare: RunningDevServer;
    let bareClient: Client;
    let ts: TestWorkflowEnvironment;
    beforeAll(async () => {
      [bare, ts] = await Promise.all([startDevServer({ cliPath: inject('temporalCliPath') || undefined, searchAttributes: false }), timeSkippingEnv({ searchAttributes: false })]);
      bareClient = new Client({ connection: await Connection.connect({ address: bare.address }) });
    });
    afterAll(async () => {
      await bareClient?.connection.close();
      await bare?.stop();
      await ts?.teardown();
    });

    it('is detected once, with a warning naming the command, and workflows start without them', async () => {
      const warnings: string[] = [];
      const tries: (number | undefined)[] = [];
      const start = (integration: string) =>
        withSearchAttributes(
          bareClient,
          integration,
          (attributes) => {
            tries.push(attributes?.length);
            const workflowId = `wf-${integration.replace('/', '.')}`;
            return bareClient.workflow.start('syncWorkflow', { taskQueue: 'nobody', workflowId, args: [{ integration }], ...(attributes ? { typedSearchAttributes: attributes } : {}) });
          },
          (m) => warnings.push(m),
        );
      const a = await start('shop/acme');
      const b = await start('shop/globex');
      expect((await a.describe()).status.name).toBe('RUNNING');
      expect((await b.describe()).status.name).toBe('RUNNING');
      // The namespace was asked once (it lists its attributes): never tried with them, one warning.
      expect(tries).toEqual([undefined, undefined]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(SEARCH_ATTRIBUTES_COMMAND);
      expect(SEARCH_ATTRIBUTES_COMMAND).toBe('temporal operator search-attribute create --name TidemarkIntegration --name TidemarkTemplate --name TidemarkInstance --type Keyword');
      // startIntegrationRun takes the same path: it starts on this server.
      const h = await startIntegrationRun(bareClient, 'sync', { integration: 'shop/initech' }, 'nobody');
      expect((await h.describe()).status.name).toBe('RUNNING');
    });

    it('instance schedules are created without them, and not updated for them on every reconcile', async () => {
      const t = config.templates!.find((x) => x.id === 'shop') as ScheduledTemplate;
      const warnings: string[] = [];
      const c = new Client({ connection: bareClient.connection });
      const warn = console.warn;
      console.warn = (m: string) => warnings.push(m);
      try {
        expect(await ensureInstanceSchedule(c, t, 'shop/acme', 'acme', QUEUE)).toMatchObject({ outcome: 'created' });
        expect(await ensureInstanceSchedule(c, t, 'shop/acme', 'acme', QUEUE)).toMatchObject({ outcome: 'unchanged' });
      } finally {
        console.warn = warn;
      }
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(SEARCH_ATTRIBUTES_COMMAND);
    });

    it('plain schedules are created without them, and not updated for them on every apply', async () => {
      const c = new Client({ connection: bareClient.connection });
      const plainOnly = { ...config, templates: [] };
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (m: string) => warnings.push(m);
      try {
        expect((await applySchedules(c, plainOnly, { taskQueue: QUEUE, env }))[0]).toMatchObject({ integration: 'plain', outcome: 'created' });
        expect((await applySchedules(c, plainOnly, { taskQueue: QUEUE, env }))[0]).toMatchObject({ integration: 'plain', outcome: 'unchanged' });
      } finally {
        console.warn = warn;
      }
      expect(warnings).toHaveLength(1);
    });

    it('the refusals of servers that do not list their attributes are recognized (the fallback detection)', async () => {
      const refuse = (client: Client, workflowId: string) =>
        client.workflow.start('syncWorkflow', { taskQueue: 'nobody', workflowId, args: [{ integration: 'x' }], typedSearchAttributes: [{ key: INSTANCE_ATTRIBUTE, value: 'acme' }] }).catch((e: unknown) => e);
      expect(isUnregisteredSearchAttributeError(await refuse(bareClient, 'refused-dev'))).toBe(true);
      expect(isUnregisteredSearchAttributeError(await refuse(ts.client, 'refused-test-server'))).toBe(true);
      expect(isUnregisteredSearchAttributeError(new Error('workflow execution already started'))).toBe(false);
    });
  });
});
