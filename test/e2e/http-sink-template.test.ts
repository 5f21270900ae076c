import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHashOf } from '../../src/sinks/http';
import { createTestKit, type TestKit } from '../../src/testing';
import { runCli } from '../helpers/cli';
import { seedOrders, sql } from '../helpers/fixtures';
import { startTenantApi, type TenantApi } from '../sinks/fakes/tenant-api-fake';

/**
 * A template whose sink is an API (`kind: http`), one instance per tenant: the URL and the token are the
 * instance's (`${instance.account}`, `${secret.token}`), the state database is the template's. Runs go through
 * a real worker on the time-skipping server (the test kit), real PostgreSQL, and a multi-tenant API on a
 * local HTTP server that refuses another tenant's token.
 */
const TOKENS = { 'a-100': 'acme-token-9Xk2', 'g-200': 'globex-token-4Lp7' };
const ACCOUNT = { acme: 'a-100', globex: 'g-200' } as const;
const ROWS = { acme: 120, globex: 80 };
const TEMPLATE = {
  id: 'tpl',
  template: true,
  source: { kind: 'postgres', url: '${SRC}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
  sink: {
    kind: 'http',
    url: '${API_URL}/tenants/${instance.account}/items',
    method: 'put',
    path: "'/' & id",
    key: ['id'],
    headers: { Authorization: 'Bearer ${secret.token}' },
    concurrency: 4,
    backoff: { initial: '5ms', max: '20ms' },
    stateUrl: '${STATE}',
  },
  batchSize: 50,
};
let kit: TestKit;
let api: TenantApi;
let vars: Record<string, string>;

beforeAll(async () => {
  // acme refuses its record 7 (422): a dead letter of tpl/acme only.
  api = await startTenantApi({ tokens: TOKENS, reject: (tenant, item) => tenant === 'a-100' && item.id === 7 });
  kit = await createTestKit({ config: { integrations: [TEMPLATE] } });
  const [src, state] = await Promise.all([kit.createDatabase('tplh_src'), kit.createDatabase('tplh_state')]);
  vars = { SRC: src, STATE: state, API_URL: api.url, ACME_TOKEN: TOKENS['a-100'], GLOBEX_TOKEN: TOKENS['g-200'] };
  kit.setEnv(vars);
  await seedOrders(src, { rows: ROWS.acme, table: 'public.orders_acme' });
  await seedOrders(src, { rows: ROWS.globex, table: 'public.orders_globex' });
  for (const tenant of ['acme', 'globex'] as const) {
    const added = await kit.addInstance('tpl', tenant, { params: { account: ACCOUNT[tenant] }, secrets: { token: { env: `${tenant.toUpperCase()}_TOKEN` } } });
    expect(added).toEqual({ id: `tpl/${tenant}`, outcome: 'added' });
  }
}, 120_000);
afterAll(async () => {
  await kit?.teardown();
  await api?.close();
});

const ledger = async (integration: string) =>
  new Map((await sql<{ k: string; h: string }>(vars.STATE!, 'SELECT record_key AS k, content_hash AS h FROM tidemark.deliveries WHERE integration = $1::text', [integration])).map((r) => [r.k, r.h]));

/** What the tenant's API holds is exactly what the instance's ledger says it delivered, each version applied once. */
async function expectLedgerEqualsTenant(tenant: 'acme' | 'globex'): Promise<void> {
  const store = api.stores.get(ACCOUNT[tenant]) ?? new Map();
  const l = await ledger(`tpl/${tenant}`);
  expect(l.size).toBe(store.size);
  for (const [id, rec] of store) expect(l.get(`[${id}]`)).toBe(contentHashOf(rec));
  expect([...(api.applied.get(ACCOUNT[tenant])?.values() ?? [])].every((n) => n === 1)).toBe(true);
}

function yamlDir(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'tm-http-tpl-'));
  writeFileSync(join(cwd, 'tidemark.yaml'), JSON.stringify({ integrations: [TEMPLATE] })); // JSON is YAML
  return cwd;
}

describe('a template with an HTTP sink, instances run by a worker', () => {
  it("each tenant's records reach its own path with its own token; ledgers, dead letters and changes stay per instance", async () => {
    expect(await kit.backfill('tpl/acme')).toMatchObject({ rows: ROWS.acme, done: true });
    expect(await kit.backfill('tpl/globex')).toMatchObject({ rows: ROWS.globex, done: true });
    // No request was refused for its token: each went to its tenant's path with that tenant's token.
    expect(api.log.filter((q) => q.status === 401 || q.status === 404)).toEqual([]);
    expect(api.stores.get('a-100')?.size).toBe(ROWS.acme - 1);
    expect(api.stores.get('g-200')?.size).toBe(ROWS.globex);
    expect(api.stores.get('a-100')?.get('5')).toMatchObject({ id: 5, status: 'new', total: 6.25 });
    await expectLedgerEqualsTenant('acme');
    await expectLedgerEqualsTenant('globex');
    const letters = await sql<{ integration: string; id: string; http_status: number }>(vars.STATE!, `SELECT integration, record->>'id' AS id, http_status FROM tidemark.dead_letters ORDER BY id`);
    expect(letters).toEqual([{ integration: 'tpl/acme', id: '7', http_status: 422 }]);

    // One of acme's records changes: the next syncs send it to acme alone, and nothing to globex.
    const before = api.log.length;
    await sql(vars.SRC!, `UPDATE public.orders_acme SET status = 'paid', updated_at = now() - interval '1 hour' WHERE id = 42`);
    expect(await kit.sync('tpl/acme')).toMatchObject({ rows: 1, done: true });
    expect(await kit.sync('tpl/globex')).toMatchObject({ rows: 0, done: true });
    expect(api.log.slice(before).map((q) => [q.tenant, q.id, q.status])).toEqual([['a-100', '42', 200]]);
    expect(api.stores.get('a-100')?.get('42')).toMatchObject({ status: 'paid' });
    expect(api.stores.get('g-200')?.get('42')).toMatchObject({ status: 'new' });
    await expectLedgerEqualsTenant('acme');
    await expectLedgerEqualsTenant('globex');

    // The CLI lists an instance's dead letters with the API's status.
    const cwd = yamlDir();
    const listed = await runCli(['dead-letters', 'tpl/acme'], vars, cwd);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/http status: 422\n {2}reason: PUT \/tenants\/a-100\/items\/7 → 422: /);
    const none = await runCli(['dead-letters', 'tpl/globex'], vars, cwd);
    expect(none.stdout.trim()).toBe('tpl/globex: no pending dead letters');

    // `instances remove --purge` of globex: its ledger rows go, acme's stay. It asks Temporal whether a run goes on.
    const removed = await runCli(['instances', 'remove', 'tpl', 'globex', '--purge'], { ...vars, TEMPORAL_ADDRESS: kit.env.address }, cwd);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await ledger('tpl/globex')).size).toBe(0);
    expect((await ledger('tpl/acme')).size).toBe(ROWS.acme - 1);
    const left = await sql<{ integration: string }>(vars.STATE!, `SELECT DISTINCT integration FROM tidemark.deliveries UNION SELECT template || '/' || instance_id FROM tidemark.instances ORDER BY 1`);
    expect(left.map((r) => r.integration)).toEqual(['tpl/acme']);
  }, 240_000);
});
