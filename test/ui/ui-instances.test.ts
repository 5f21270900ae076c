import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config';
import { addInstance } from '../../src/instances';
import { createUiServer, type RunningUi } from '../../src/ui/server';
import { seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { insertRun, migrated } from './ui-fixtures';

// Instances (issue 14) on the operator's page, over HTTP against real PostgreSQL. Templates without a
// schedule: pausing an instance then needs no Temporal, exactly as `tidemark instances pause` does.
const KEY = Buffer.alloc(32, 7).toString('base64');
const VALUE_SECRET = 'postgres://reader:globex-secret-pw-931@db.example:5432/app';
let src: TestDatabase;
let dst: TestDatabase;
let env: NodeJS.ProcessEnv;
let config: Config;
let ui: RunningUi;

const template = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  template: true,
  source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders', cursor: ['updated_at', 'id'] },
  sink: { kind: 'postgres', url: '${DST_URL}', table: `${id}.orders`, key: ['id'], instanceColumn: 'tenant', create: true },
  ...extra,
});

function configWith(templates: string[]): Config {
  return parseConfig({
    integrations: [
      {
        id: 'orders',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
      },
      ...templates.map((t) => template(t)),
    ],
  });
}

const get = async (path: string, on = ui) => {
  const res = await fetch(on.url + path);
  return { status: res.status, text: await res.text() };
};
const post = (path: string, form: Record<string, string>) =>
  fetch(ui.url + path, { method: 'POST', body: new URLSearchParams({ _csrf: ui.csrf, ...form }), headers: { 'hx-request': 'true' } });
const ids = (page: string) => [...page.matchAll(/<tr class="[a-z_]+" data-id="([^"]+)"/g)].map((m) => m[1]);
const rowOf = (page: string, id: string) => page.match(new RegExp(`<tr class="([a-z_]+)" data-id="${id.replace('/', '\\/')}"[^]*?</tr>`))?.[0] ?? '';

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('uii_src'), createTestDatabase('uii_dst')]);
  await seedOrders(src.url, { rows: 20 });
  await migrated(dst.url);
  env = { SRC_URL: src.url, DST_URL: dst.url, TIDEMARK_ENCRYPTION_KEY: KEY };
  config = configWith(['shop', 'crm']);
  await addInstance({ config, template: 'shop', instance: 'acme', secrets: { db: { env: 'SRC_URL' } }, env });
  // A secret given by value: stored encrypted; no page may show it (nor its ciphertext).
  await addInstance({ config, template: 'shop', instance: 'globex', secrets: { db: { value: VALUE_SECRET } }, env });
  await addInstance({ config, template: 'shop', instance: 'initech', secrets: { db: { env: 'SRC_URL' } }, env });
  await addInstance({ config, template: 'crm', instance: 'acme', secrets: { db: { env: 'SRC_URL' } }, env });
  // What a worker leaves when the source refused initech's credentials (src/instances/needs-reauth.ts).
  await sql(dst.url, `UPDATE tidemark.instances SET status = 'needs_reauth', reason = 'credentials refused: HTTP 401 token expired' WHERE instance_id = 'initech'`);
  await insertRun(dst.url, { runId: 'tidemark-shop.acme/r1', integration: 'shop/acme', status: 'completed', rows: 20, startedAgo: '2 hours' });
  await insertRun(dst.url, { runId: 'tidemark-shop.globex/r1', integration: 'shop/globex', status: 'completed', rows: 5, startedAgo: '3 hours' });
  await insertRun(dst.url, { runId: 'tidemark-shop.globex/r2', integration: 'shop/globex', status: 'failed', error: 'relation "public.orders" does not exist', startedAgo: '1 hour' });
  await insertRun(dst.url, { runId: 'tidemark-shop.globex/r3', integration: 'shop/globex', status: 'failed', error: 'relation "public.orders" does not exist', startedAgo: '30 minutes' });
  ui = await createUiServer({ config, env });
});
afterAll(async () => {
  await ui?.close();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('tidemark ui: instances of templates', () => {
  it('lists every instance beside the integrations, each with its state; failing and needs_reauth marked with the reason', async () => {
    const page = (await get('/?sort=id')).text;
    expect(ids(page)).toEqual(['crm/acme', 'orders', 'shop/acme', 'shop/globex', 'shop/initech']);
    expect(page).toContain('5 of 5 integrations and instances');
    expect(rowOf(page, 'shop/globex')).toMatch(/^<tr class="failing"/);
    expect(rowOf(page, 'shop/globex')).toContain('data-template="shop"');
    expect(rowOf(page, 'shop/globex')).toMatch(/<td class="num">2<\/td>/); // failures in a row
    expect(rowOf(page, 'shop/initech')).toMatch(/^<tr class="needs_reauth"/);
    expect(rowOf(page, 'shop/initech')).toContain('instance needs_reauth: credentials refused: HTTP 401 token expired');
    expect(rowOf(page, 'shop/acme')).toMatch(/^<tr class="ok"/);
    expect(rowOf(page, 'crm/acme')).toMatch(/^<tr class="new"/);
    // Links to an instance encode its "/".
    expect(page).toContain('href="/i/shop%2Fglobex"');
  });

  it('filters by template, and by state (failing, needs_reauth)', async () => {
    expect(ids((await get('/?template=shop&sort=id')).text)).toEqual(['shop/acme', 'shop/globex', 'shop/initech']);
    expect(ids((await get('/?template=crm')).text)).toEqual(['crm/acme']);
    expect(ids((await get('/?template=nope')).text)).toEqual([]);
    expect(ids((await get('/?state=failing')).text)).toEqual(['shop/globex']);
    expect(ids((await get('/?state=needs_reauth')).text)).toEqual(['shop/initech']);
    const page = (await get('/?template=shop')).text;
    expect(page).toContain('<option value="shop" selected>shop</option>');
    // Paging keeps the filter.
    expect(page).toMatch(/href="\/\?template=shop&amp;sort=/);
  });

  it('shows one instance: its template, status and reason, parameters, secret references, runs with Temporal links', async () => {
    const globex = await get('/i/shop%2Fglobex');
    expect(globex.status).toBe(200);
    expect(globex.text).toContain('<h1>shop/globex');
    expect(globex.text).toContain('instance of <a href="/?template=shop">shop</a>');
    expect(globex.text).toMatch(/<td>secret db<\/td><td class="muted">encrypted<\/td>/);
    expect(globex.text).toContain('relation &quot;public.orders&quot; does not exist');
    expect(globex.text).toContain('/workflows/tidemark-shop.globex/r3/history');
    expect(globex.text).toContain('data-state="failing"');
    expect(globex.text).toContain('action="/i/shop%2Fglobex/actions/sync"');
    expect(globex.text).toContain('pause instance');

    const initech = await get('/i/shop%2Finitech');
    expect(initech.text).toContain('data-state="needs_reauth"');
    expect(initech.text).toContain('credentials refused: HTTP 401 token expired');
    expect(initech.text).toContain('resume instance');
    expect((await get('/i/shop%2Facme')).text).toMatch(/<td>secret db<\/td><td class="muted">env SRC_URL<\/td>/);

    const missing = await get('/i/shop%2Fnope');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('nor an instance of one of its 2 templates');
    expect((await get('/i/nope%2Facme')).status).toBe(404);
    expect((await get('/i/shop%2Facme/dead-letters')).status).toBe(200);

    // A row that no longer fits its template (its secret missing): the page says what is wrong, not a 500.
    await sql(dst.url, `INSERT INTO tidemark.instances (template, instance_id) VALUES ('crm', 'broken')`);
    try {
      const broken = await get('/i/crm%2Fbroken');
      expect(broken.status).toBe(409);
      expect(broken.text).toMatch(/instance crm\/broken: missing secret\(s\) db: template crm uses \$\{secret\.db\}/);
      expect(rowOf((await get('/')).text, 'crm/broken')).toMatch(/^<tr class="new"/);
    } finally {
      await sql(dst.url, `DELETE FROM tidemark.instances WHERE instance_id = 'broken'`);
    }
  });

  it('pauses and resumes an instance from the page as `instances pause|resume` does, and moves its checkpoint', async () => {
    const paused = await post('/i/shop%2Facme/actions/pause', { note: 'customer asked <b>' });
    const pausedText = await paused.text();
    expect(paused.status, pausedText).toBe(200);
    expect(pausedText).toContain('shop/acme: instance paused (customer asked &lt;b&gt;); no schedule');
    expect(await sql(dst.url, `SELECT status, reason FROM tidemark.instances WHERE template = 'shop' AND instance_id = 'acme'`)).toEqual([{ status: 'paused', reason: 'customer asked <b>' }]);
    expect(rowOf((await get('/')).text, 'shop/acme')).toMatch(/^<tr class="paused"[^]*instance paused: customer asked &lt;b&gt;/);

    const resumed = await post('/i/shop%2Facme/actions/unpause', {});
    expect(await resumed.text()).toContain('shop/acme: instance active; no schedule');
    expect(await sql(dst.url, `SELECT status, reason FROM tidemark.instances WHERE template = 'shop' AND instance_id = 'acme'`)).toEqual([{ status: 'active', reason: null }]);

    const moved = await post('/i/shop%2Facme/actions/rewind', { cursor: '["2024-01-01 00:00:01+00","10"]' });
    expect(await moved.text()).toContain('shop/acme: moved the sync checkpoint from the beginning to');
    expect(await sql(dst.url, `SELECT cursor::text AS c FROM tidemark.checkpoints WHERE integration = 'shop/acme' AND slot = 'sync'`)).toEqual([{ c: '["2024-01-01 00:00:01+00", "10"]' }]);
    // Without Temporal, run actions are refused with the way out, for instances as for integrations.
    const sync = await post('/i/shop%2Facme/actions/sync', {});
    expect(sync.status).toBe(503);
    expect(await sync.text()).toContain('set TEMPORAL_ADDRESS');
  });

  it('renders no secret value: neither the encrypted secret, its ciphertext, nor the environment it names', async () => {
    const stored = (await sql(dst.url, `SELECT secrets::text AS s FROM tidemark.instances WHERE instance_id = 'globex'`))[0]!.s!;
    const cipher = (JSON.parse(stored) as { db: { encrypted: string } }).db.encrypted;
    const paths = ['/', '/?size=1000&template=shop', '/i/shop%2Fglobex', '/i/shop%2Facme', '/i/shop%2Finitech', '/i/crm%2Facme', '/i/shop%2Fglobex/dead-letters'];
    for (const path of paths) {
      const { status, text } = await get(path);
      expect(status, path).toBe(200);
      for (const secret of ['globex-secret-pw-931', cipher.slice(0, 24), src.url, dst.url, KEY]) expect(text, path).not.toContain(secret);
    }
  });

  it('asks each state database a fixed number of times per overview, however many instances', async () => {
    const bulk = configWith(['shop', 'crm', 'bulk']);
    const few = await createUiServer({ config, env });
    const many = await createUiServer({ config: bulk, env });
    try {
      await sql(
        dst.url,
        `INSERT INTO tidemark.instances (template, instance_id, secrets) SELECT 'bulk', 'c' || i, '{"db":{"env":"SRC_URL"}}' FROM generate_series(1, 300) i`,
      );
      const counts = [];
      for (const on of [few, many]) {
        await get('/', on); // connect first
        const before = on.app.dbs.queries;
        const page = await get('/?size=1000', on);
        expect(page.status).toBe(200);
        counts.push(on.app.dbs.queries - before);
      }
      // One listing of the instances, then run summaries, checkpoints and dead letters for all ids at once.
      expect(counts).toEqual([4, 4]);
      expect((await get('/?template=bulk', many)).text).toContain('300 of 305 integrations and instances');
    } finally {
      await few.close();
      await many.close();
    }
  });
});
