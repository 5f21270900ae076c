import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config';
import { checkBinding, createUiServer, type RunningUi } from '../../src/ui/server';
import { UiTokenRequiredError, WeakUiTokenError } from '../../src/ui/security';
import { seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { insertRun, migrated } from './ui-fixtures';

const TOKEN = 'a-long-enough-test-token-123';
const EVIL = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
let src: TestDatabase;
let dst: TestDatabase;
let env: NodeJS.ProcessEnv;
let open: RunningUi;
let guarded: RunningUi;

function config(n = 2): Config {
  return parseConfig({
    integrations: [
      {
        id: 'orders',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
      },
      {
        id: 'literal',
        // A literal password in the config: the page must never show it.
        source: { kind: 'postgres', url: 'postgres://reader:hunter2-literal@db.example:5432/app', table: 'public.t', cursor: ['id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.t', key: ['id'] },
      },
      ...Array.from({ length: n - 2 }, (_, i) => ({
        id: `extra-${i}`,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: `copy.x${i}`, key: ['id'] },
      })),
    ],
  });
}

const get = (ui: RunningUi, path: string, headers: Record<string, string> = {}) => fetch(ui.url + path, { headers });
const post = (ui: RunningUi, path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(ui.url + path, { method: 'POST', body: new URLSearchParams(form), headers });

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('ui_src'), createTestDatabase('ui_dst')]);
  await seedOrders(src.url, { rows: 50 });
  await migrated(dst.url);
  // The env the page resolves sink URLs from: its values must not be rendered.
  env = { SRC_URL: src.url, DST_URL: dst.url, SOME_TOKEN: 'tok-secret-value-xyz' };
  await insertRun(dst.url, { runId: 'tidemark-orders/r1', integration: 'orders', status: 'completed', rows: 40, startedAgo: '2 hours' });
  await insertRun(dst.url, { runId: 'tidemark-orders/r2', integration: 'orders', status: 'failed', error: `${EVIL} connecting to postgres://app:hunter2-in-error@db:5432/x`, startedAgo: '1 hour' });
  await insertRun(dst.url, { runId: 'tidemark-orders/r3', integration: 'orders', status: 'failed', error: 'again', startedAgo: '30 minutes' });
  await sql(dst.url, `INSERT INTO tidemark.dead_letters (integration, run_id, cursor, record, reason) VALUES ('orders', 'tidemark-orders/r1', '[1]', $1::jsonb, $2::text)`, [
    JSON.stringify({ id: 7, note: EVIL }),
    `bad note ${EVIL}`,
  ]);
  open = await createUiServer({ config: config(), env });
  guarded = await createUiServer({ config: config(), env, token: TOKEN });
});
afterAll(async () => {
  await open?.close();
  await guarded?.close();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('tidemark ui over HTTP', () => {
  it('escapes every value: errors, reasons and records render as text', async () => {
    for (const path of ['/', '/i/orders', '/i/orders/dead-letters']) {
      const page = await (await get(open, path)).text();
      expect(page, path).not.toContain('<script>alert');
      expect(page, path).not.toContain('<img src=x');
      if (path !== '/') expect(page, path).toContain('&lt;script&gt;alert(');
    }
    const detail = await (await get(open, '/i/orders')).text();
    expect(detail).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('renders no secret: ${…} references stay references, URL passwords are masked', async () => {
    const pages = await Promise.all(['/', '/i/orders', '/i/literal', '/i/orders/dead-letters'].map(async (p) => (await get(open, p)).text()));
    const all = pages.join('\n');
    expect(all).toContain('${SRC_URL}');
    expect(all).toContain('${DST_URL}');
    expect(all).not.toContain(src.url);
    expect(all).not.toContain(dst.url);
    expect(all).not.toContain('hunter2-literal');
    expect(all).not.toContain('hunter2-in-error');
    expect(all).toContain('postgres://reader:***@db.example:5432/app');
    expect(all).not.toContain('tok-secret-value-xyz');
  });

  it('marks a failing integration with its failures in a row, and pages link into the Temporal UI', async () => {
    const page = await (await get(open, '/?state=failing')).text();
    expect(page).toMatch(/<tr class="failing" data-id="orders">/);
    expect(page).toMatch(/data-state="failing"/);
    expect(page).toMatch(/<td class="num">2<\/td>/); // two failures since the last success
    const detail = await (await get(open, '/i/orders')).text();
    expect(detail).toContain('http://localhost:8233/namespaces/default/workflows/tidemark-orders/r2/history');
  });

  it("counts a running sharded run's rows still on its shards' own rows (tidemark.run_shards)", async () => {
    await insertRun(dst.url, { runId: 'tidemark-literal/r9', integration: 'literal', status: 'running', kind: 'backfill', rows: 100, startedAgo: '1 minute' });
    await sql(dst.url, `INSERT INTO tidemark.run_shards (run_id, shard, rows_committed) VALUES ('tidemark-literal/r9', 0, 1250), ('tidemark-literal/r9', 1, 50)`);
    const page = await (await get(open, '/?q=literal')).text();
    const row = page.match(/<tr[^>]*data-id="literal">[\s\S]*?<\/tr>/)?.[0] ?? '';
    expect(row).toMatch(/>1,?400</); // 100 rolled up + 1,250 + 50 on the shards' rows
  });

  it('asks each state database a fixed number of times per view, however many integrations', async () => {
    const few = await createUiServer({ config: config(3), env });
    const many = await createUiServer({ config: config(400), env });
    try {
      for (const ui of [few, many]) await get(ui, '/'); // connect and migrate first
      const counts = [];
      for (const ui of [few, many]) {
        const before = ui.app.dbs.queries;
        const res = await get(ui, '/?size=1000');
        expect(res.status).toBe(200);
        counts.push(ui.app.dbs.queries - before);
      }
      expect(counts).toEqual([3, 3]);
      const page = await (await get(many, '/?size=50&sort=id&page=2')).text();
      expect(page).toContain('page 2 of 8');
    } finally {
      await few.close();
      await many.close();
    }
  });

  it('requires the token when one is set: bearer or basic auth, else 401', async () => {
    const none = await get(guarded, '/');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await get(guarded, '/', { authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
    expect((await get(guarded, '/', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`operator:${TOKEN}`).toString('base64')}`;
    expect((await get(guarded, '/i/orders', { authorization: basic })).status).toBe(200);
    // Actions too: the CSRF token alone is not enough.
    expect((await post(guarded, '/i/orders/actions/sync', { _csrf: guarded.csrf })).status).toBe(401);
  });

  it('refuses to bind beyond localhost without a token, and a short token', async () => {
    expect(() => checkBinding('0.0.0.0', undefined)).toThrow(UiTokenRequiredError);
    expect(() => checkBinding('0.0.0.0', undefined)).toThrow(/set TIDEMARK_UI_TOKEN/);
    expect(() => checkBinding('127.0.0.1', 'short')).toThrow(WeakUiTokenError);
    expect(() => checkBinding('0.0.0.0', TOKEN)).not.toThrow();
    await expect(createUiServer({ config: config(), env, host: '0.0.0.0' })).rejects.toThrow(UiTokenRequiredError);
  });

  it('without a token, serves only loopback Host names (no DNS rebinding)', async () => {
    // fetch() does not let a Host header through; node:http does.
    const status = (host: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        const u = new URL(open.url);
        http.get({ host: u.hostname, port: u.port, path: '/static/ui.css', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject);
      });
    expect(await status('evil.example')).toBe(403);
    // Names that only look like loopback addresses: a rebinding site can own them.
    for (const host of ['127.attacker.com', '127.0.0.1.evil.com', 'localhost.evil.com', '127.0.0.256', '127.1']) expect(await status(host), host).toBe(403);
    expect(await status('localhost:1234')).toBe(200);
    expect(await status('LOCALHOST')).toBe(200);
    expect(await status('127.0.0.2:80')).toBe(200);
    expect(await status('[::1]:8080')).toBe(200);
  });

  it('refuses actions without the CSRF token, by GET, or with a wrong one', async () => {
    const missing = await post(open, '/i/orders/actions/rewind', { cursor: '' });
    expect(missing.status).toBe(403);
    expect(await missing.text()).toMatch(/CSRF token/);
    expect((await post(open, '/i/orders/actions/rewind', { _csrf: 'wrong', cursor: '' })).status).toBe(403);
    expect((await get(open, '/i/orders/actions/rewind')).status).toBe(404);
    expect(await sql(dst.url, `SELECT 1 FROM tidemark.checkpoints WHERE integration = 'orders'`)).toEqual([]);
  });

  it('rewinds the checkpoint with the CSRF token, checking the cursor against the source', async () => {
    const bad = await post(open, '/i/orders/actions/rewind', { _csrf: open.csrf, cursor: '["not a time","1"]' }, { 'hx-request': 'true' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/class="result error"/);
    const ok = await post(open, '/i/orders/actions/rewind', { _csrf: open.csrf, cursor: '["2024-01-01 00:00:01.000123+00","10"]' }, { 'x-csrf-token': open.csrf, 'hx-request': 'true' });
    expect(await ok.text()).toContain('moved the sync checkpoint from the beginning to [&quot;2024-01-01 00:00:01.000123+00&quot;,&quot;10&quot;]');
    const [cp] = await sql(dst.url, `SELECT cursor::text AS c FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'sync'`);
    expect(cp?.c).toBe('["2024-01-01 00:00:01.000123+00", "10"]');
  });

  it('calls an integration lagging on its own page as in the overview (its sync checkpoint far behind)', async () => {
    const three = await createUiServer({ config: config(3), env });
    try {
      await insertRun(dst.url, { runId: 'tidemark-extra-0/r1', integration: 'extra-0', status: 'completed', rows: 10, startedAgo: '10 minutes' });
      const moved = await post(three, '/i/extra-0/actions/rewind', { _csrf: three.csrf, cursor: '["2024-01-01 00:00:01.000123+00","10"]' }, { 'hx-request': 'true' });
      expect(moved.status).toBe(200);
      const row = (await (await get(three, '/?id=extra-0')).text()).match(/<tr[^>]*>(?:(?!<\/tr>)[\s\S])*?extra-0[\s\S]*?<\/tr>/)?.[0] ?? '';
      expect(row).toMatch(/state-lagging/);
      const page = await (await get(three, '/i/extra-0')).text();
      expect(page).toMatch(/<h1>extra-0 <span class="state state-lagging"/);
      // Its config as written: no defaults filled in (statementTimeout, lag as a number of ms).
      const shown = /<h2>config \(as written\)<\/h2><pre>([\s\S]*?)<\/pre>/.exec(page)?.[1] ?? '';
      expect(shown).toMatch(/&quot;table&quot;: &quot;copy\.x0&quot;/);
      expect(shown).not.toMatch(/statementTimeout|batchSize|schemaChanges/);
    } finally {
      await three.close();
    }
  });

  it('says what is missing for Temporal actions when Temporal is not connected, and 404s unknown integrations', async () => {
    const r = await post(open, '/i/orders/actions/sync', { _csrf: open.csrf });
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/no Temporal connection: set TEMPORAL_ADDRESS/);
    expect((await get(open, '/i/nope')).status).toBe(404);
    expect((await post(open, '/i/orders/actions/explode', { _csrf: open.csrf })).status).toBe(404);
    // Each action takes its own fields: another action's is named, not ignored; the clicked button's name comes along.
    const stray = await post(open, '/i/orders/actions/sync', { _csrf: open.csrf, from: 'garbage' });
    expect(stray.status).toBe(400);
    expect(await stray.text()).toMatch(/sync takes no fields, not &quot;from&quot;/);
    expect((await post(open, '/i/orders/actions/sync', { _csrf: open.csrf, action: 'sync' })).status).toBe(503);
  });

  it('serves htmx and uPlot from the npm packages, with a strict Content-Security-Policy', async () => {
    const htmx = await get(open, '/static/htmx.min.js');
    expect(htmx.status).toBe(200);
    expect(await htmx.text()).toMatch(/htmx/);
    expect((await get(open, '/static/uPlot.iife.min.js')).status).toBe(200);
    const page = await get(open, '/');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await page.text()).not.toMatch(/<script>(?!\s*<\/script>)/);
  });
});
