/// <reference lib="dom" />
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { workflowIdFor } from '../../src/client';
import { parseConfig } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { addInstance } from '../../src/instances';
import { scheduleIdFor } from '../../src/schedules';
import { createUiServer, type RunningUi } from '../../src/ui/server';
import { sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { insertRun, migrated } from './ui-fixtures';
import { screenshotDir } from '../helpers/screenshots';

// Instances on the operator's page in headless Chromium, as ui-browser.test.ts does for integrations:
// a real Temporal dev server (the instances' schedules), real PostgreSQL, the page over HTTP. No worker:
// the runs are fixture rows in the real state tables.
const CHROME = inject('chromePath') || '/usr/bin/chromium';
const TOKEN = 'browser-instances-token-0123456789';
const QUEUE = 'ui-instances-browser';

let server: RunningDevServer;
let dst: TestDatabase;
let client: Client;
let ui: RunningUi;
let browser: Browser;

const config = parseConfig({
  integrations: [
    {
      id: 'orders',
      source: { kind: 'postgres', url: '${DST_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'] },
    },
    {
      id: 'shop',
      template: true,
      source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'shop.orders', key: ['id'], instanceColumn: 'tenant' },
      // Yearly (January 1st): no tick starts a run while the test looks at the rows' states.
      schedule: { cron: '0 0 1 1 *' },
    },
  ],
});

async function authedPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 760 });
  await page.authenticate({ username: 'operator', password: TOKEN });
  page.on('dialog', (d) => void d.accept());
  return page;
}

async function waitText(page: Page, selector: string, re: RegExp, timeout = 15_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await page.$eval(selector, (el) => el.textContent ?? '').catch(() => `(no ${selector})`);
    if (re.test(text)) return text;
    await sleep(100);
  }
  throw new Error(`${selector} never matched ${re} in ${timeout} ms; it shows: ${text}`);
}

beforeAll(async () => {
  [server, dst] = await Promise.all([devServerForTests(), createTestDatabase('uiib_dst')]);
  await migrated(dst.url);
  const env = { DST_URL: dst.url, TENANT_DB: dst.url, TEMPORAL_ADDRESS: server.address };
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  for (const name of ['acme', 'globex', 'initech', 'umbrella']) {
    await addInstance({ config, template: 'shop', instance: name, secrets: { db: { env: 'TENANT_DB' } }, env, client, taskQueue: QUEUE });
  }
  // globex fails since its last success; initech's credentials were refused (what the worker records).
  await insertRun(dst.url, { runId: 'tidemark-shop.globex/a', integration: 'shop/globex', status: 'completed', rows: 900, startedAgo: '3 hours' });
  await insertRun(dst.url, { runId: 'tidemark-shop.globex/b', integration: 'shop/globex', status: 'failed', error: 'relation "public.orders_globex" does not exist', startedAgo: '2 hours' });
  await insertRun(dst.url, { runId: 'tidemark-shop.globex/c', integration: 'shop/globex', status: 'failed', error: 'relation "public.orders_globex" does not exist', startedAgo: '1 hour' });
  for (const name of ['acme', 'umbrella']) await insertRun(dst.url, { runId: `tidemark-shop.${name}/a`, integration: `shop/${name}`, status: 'completed', rows: 1200, startedAgo: '20 minutes' });
  await sql(dst.url, `UPDATE tidemark.instances SET status = 'needs_reauth', reason = 'credentials refused: HTTP 401 token expired' WHERE instance_id = 'initech'`);
  await client.schedule.getHandle(scheduleIdFor('shop/initech')).pause('instance needs_reauth: credentials refused: HTTP 401 token expired');
  ui = await createUiServer({ config, env, temporal: client, taskQueue: QUEUE, token: TOKEN, refreshMs: 500, ...(server.uiUrl ? { temporalUiUrl: server.uiUrl } : {}) });
  browser = await puppeteer.launch({ executablePath: CHROME, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await client?.connection.close();
  await server?.stop();
  await dst?.drop();
});

describe('tidemark ui in headless Chromium: instances', () => {
  it('marks the failing instance and the one needing re-authorization; filters by template; pauses an instance from its page', async () => {
    const page = await authedPage();
    await page.goto(`${ui.url}/?sort=state`);
    expect(await page.$eval('tr[data-id="shop/globex"]', (el) => el.className)).toBe('failing');
    expect(await page.$eval('tr[data-id="shop/globex"] [data-state]', (el) => el.textContent)).toBe('failing');
    expect(await page.$eval('tr[data-id="shop/initech"] [data-state]', (el) => el.textContent)).toBe('needs_reauth');
    expect(await page.$eval('tr[data-id="shop/initech"]', (el) => el.textContent)).toMatch(/credentials refused: HTTP 401 token expired/);
    // The schedules' next runs come from Temporal's one listing.
    expect(await page.$eval('tr[data-id="shop/acme"]', (el) => el.textContent)).toMatch(/in \d+/);
      await page.screenshot({ path: join(screenshotDir(), 'overview-instances.png') as `${string}.png` });

    await page.select('select[name="template"]', 'shop');
    await Promise.all([page.waitForNavigation(), page.click('form.filters button[type="submit"]')]);
    expect(await page.$$eval('#overview tbody tr', (trs) => trs.map((t) => t.getAttribute('data-id')).sort())).toEqual(['shop/acme', 'shop/globex', 'shop/initech', 'shop/umbrella']);

    await Promise.all([page.waitForNavigation(), page.click('tr[data-id="shop/globex"] a[href="/i/shop%2Fglobex"]')]);
    expect(await page.$eval('#errors', (el) => el.textContent)).toMatch(/relation "public.orders_globex" does not exist/);
    expect(await page.$eval('#instance', (el) => el.textContent)).toMatch(/secret db\s*env TENANT_DB/);
    await page.click('form[action="/i/shop%2Fglobex/actions/pause"] button');
    await waitText(page, '#result', /shop\/globex: instance paused \(paused from tidemark ui\); schedule paused/);
    const d = await client.schedule.getHandle(scheduleIdFor('shop/globex')).describe();
    expect(d.state.paused).toBe(true);
    expect(await sql(dst.url, `SELECT status FROM tidemark.instances WHERE instance_id = 'globex'`)).toEqual([{ status: 'paused' }]);
    await page.close();
  });

  it("shows an instance's running workflow (tidemark-shop.acme) as its run, with the live progress cell", async () => {
    // No worker polls this queue: the workflow stays running, which is all the overview needs to see.
    const handle = await client.workflow.start('syncWorkflow', { taskQueue: `${QUEUE}-idle`, workflowId: workflowIdFor('shop/acme'), args: [{ integration: 'shop/acme' }] });
    try {
      expect(handle.workflowId).toBe('tidemark-shop.acme');
      const page = await authedPage();
      const deadline = Date.now() + 15_000;
      let state = '';
      while (Date.now() < deadline && state !== 'running') {
        await page.goto(`${ui.url}/?template=shop`);
        state = await page.$eval('tr[data-id="shop/acme"] [data-state]', (el) => el.textContent ?? '');
        if (state !== 'running') await sleep(300);
      }
      expect(state).toBe('running');
      expect(await page.$eval('tr[data-id="shop/acme"] .live-progress', (el) => el.getAttribute('hx-get'))).toBe('/i/shop%2Facme/progress');
      await page.close();
    } finally {
      await handle.terminate('test done');
    }
  });
});
