import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { addInstance, listInstances, resumeInstance, statusAll } from '../../src/instances';
import { ORDER_COLUMN_TYPES, startMockApi, type MockApi } from '../../src/mock-api';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { startDeliveryFake } from '../sinks/fakes/delivery-fake';

// One instance's refused token must not stop the others: it becomes needs_reauth, non-retryable.
const TOKEN = 'tm-inst-token-7Hq2';
let api: MockApi;
let dst: TestDatabase;
let env: NodeJS.ProcessEnv;
let config: Config;

beforeAll(async () => {
  [api, dst] = await Promise.all([startMockApi({ records: 300, token: TOKEN }), createTestDatabase('inst_auth')]);
  env = { API_URL: api.url, DST_URL: dst.url, GOOD_TOKEN: TOKEN, BAD_TOKEN: 'revoked-by-the-customer' };
  config = parseConfig({
    integrations: [
      {
        id: 'api',
        template: true,
        source: {
          kind: 'http',
          url: '${API_URL}/v1/orders/cursor',
          headers: { Authorization: 'Bearer ${secret.token}' },
          pagination: { style: 'cursor' },
          columns: { ...ORDER_COLUMN_TYPES },
          backoff: { initial: '20ms', max: '200ms' },
        },
        sink: { url: '${DST_URL}', table: 'api.orders', key: ['id'], create: true, instanceColumn: 'tenant' },
        batchSize: 100,
      },
    ],
  });
});
afterAll(async () => {
  await api?.close();
  await dst?.drop();
});

const run = (integration: string, runKey: string) =>
  new MockActivityEnvironment().run(createActivities({ config: () => config, env }).runIntegration, { integration, mode: 'backfill' as const, runKey }) as Promise<RunResult>;

describe('an instance whose credentials are refused', () => {
  it('fails at once, non-retryable, becomes needs_reauth with the reason; the other instances go on', async () => {
    await addInstance({ config, template: 'api', instance: 'good', secrets: { token: { env: 'GOOD_TOKEN' } }, env });
    await addInstance({ config, template: 'api', instance: 'bad', secrets: { token: { env: 'BAD_TOKEN' } }, env });

    // The hint is the instance's: its secrets, not config fields in the workers' environment (an acceptance run).
    await expect(run('api/bad', 'wf/b1')).rejects.toMatchObject({
      nonRetryable: true,
      message: expect.stringMatching(/401 Unauthorized: .*\. For instance api\/bad the credentials are its secrets \(`tidemark instances list` shows how each is kept\): .*then `tidemark instances resume api bad`$/),
    });
    expect(await run('api/good', 'wf/g1')).toMatchObject({ rows: 300, done: true });
    expect(await sql(dst.url, `SELECT tenant, count(*)::text AS n FROM api.orders GROUP BY tenant`)).toEqual([{ tenant: 'good', n: '300' }]);

    const bad = (await listInstances({ config, env })).find((i) => i.id === 'api/bad')!;
    expect(bad.status).toBe('needs_reauth');
    expect(bad.reason).toMatch(/^credentials refused: GET .* → 401 Unauthorized/);
    expect(bad.reason).not.toContain('revoked-by-the-customer');
    // status --all: one line per instance; --failing keeps only what needs a person.
    const lines = await statusAll(config, { env });
    expect(lines.map((l) => [l.id, l.state, l.lastRows, l.consecutiveFailures])).toEqual([
      ['api/bad', 'needs_reauth', 0, 1],
      ['api/good', 'ok', 300, 0],
    ]);
    expect(lines[1]!.lastSuccess).not.toBeNull();
    expect((await statusAll(config, { env, failing: true })).map((l) => l.id)).toEqual(['api/bad']);
    // Until resumed, its runs are refused without calling the API.
    await expect(run('api/bad', 'wf/b2')).rejects.toMatchObject({ nonRetryable: true, message: expect.stringContaining('instance api/bad is needs_reauth') });

    // The customer re-authorized (the variable now holds a working token): resume, and it runs.
    env.BAD_TOKEN = TOKEN;
    await resumeInstance({ config, template: 'api', instance: 'bad', env });
    expect(await run('api/bad', 'wf/b3')).toMatchObject({ rows: 300, done: true });
  });

  it("the destination API refusing them (an HTTP sink's 401) makes it needs_reauth too (acceptance run: it stayed active, failing every tick)", async () => {
    const dest = await startDeliveryFake();
    try {
      const cfg = parseConfig({
        integrations: [
          {
            id: 'push',
            template: true,
            source: { kind: 'http', url: '${API_URL}/v1/orders/cursor', headers: { Authorization: 'Bearer ${API_TOKEN}' }, pagination: { style: 'cursor' }, columns: { ...ORDER_COLUMN_TYPES } },
            sink: { kind: 'http', url: '${DEST_URL}/items', key: ['id'], headers: { Authorization: 'Bearer ${secret.dest}' }, stateUrl: '${DST_URL}', backoff: { initial: '5ms', max: '20ms' } },
            batchSize: 100,
          },
        ],
      });
      const penv = { ...env, API_TOKEN: TOKEN, DEST_URL: dest.url, DEST_TOKEN: 'revoked' };
      await addInstance({ config: cfg, template: 'push', instance: 'acme', secrets: { dest: { env: 'DEST_TOKEN' } }, env: penv });
      dest.faults.push(...Array.from({ length: 5 }, () => ({ kind: 'fail' as const, status: 401 })));
      const push = new MockActivityEnvironment().run(createActivities({ config: () => cfg, env: penv }).runIntegration, { integration: 'push/acme', mode: 'backfill' as const, runKey: 'wf/p1' });
      await expect(push).rejects.toMatchObject({ nonRetryable: true, message: expect.stringContaining('401: the API refuses the credentials') });
      const acme = (await listInstances({ config: cfg, env: penv })).find((i) => i.id === 'push/acme')!;
      expect(acme).toMatchObject({ status: 'needs_reauth', reason: expect.stringMatching(/^credentials refused: .*\/items → 401: the API refuses the credentials/) });
    } finally {
      await dest.close();
    }
  });
});
