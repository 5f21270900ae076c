/// <reference lib="dom" />
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { applySchedules, scheduleIdFor } from '../../src/schedules';
import type { RunningDevServer } from '../../src/dev';
import { createUiServer, type RunningUi } from '../../src/ui/server';
import { createWorker } from '../../src/worker';
import { seedOrders, sql } from '../helpers/fixtures';
import { sleep, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { insertRun, migrated } from './ui-fixtures';
import { screenshotDir } from '../helpers/screenshots';

/** Debian's chromium (installed by the global setup when missing), or CHROME_PATH. */
const CHROME = inject('chromePath') || '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789';
const QUEUE = 'ui-browser';
const ROWS = 20_000;

let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let worker: Worker;
let running: Promise<void>;
let client: Client;
let ui: RunningUi;
let browser: Browser;

const config = parseConfig({
  integrations: [
    {
      id: 'orders',
      source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
      batchSize: 500,
    },
    {
      id: 'invoices',
      source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.invoices', key: ['id'], create: true },
      // Created paused: the test unpauses it for a moment only, far from a tick (hourly, aligned to the hour).
      schedule: { every: '1h', paused: true },
    },
    {
      id: 'slow',
      source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.slow', key: ['id'], create: true },
      batchSize: 500,
    },
    {
      id: 'letters',
      source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.letters', key: ['id'] },
    },
  ],
});

/** A page that logs in with the token as basic auth and accepts every confirmation dialog. */
async function authedPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 760 });
  await page.authenticate({ username: 'operator', password: TOKEN });
  page.on('dialog', (d) => void d.accept());
  return page;
}

/** A screenshot for the README: the viewport, or the page's top `height` pixels (kept small: they are committed). */
async function shot(page: Page, name: string, height?: number): Promise<void> {
  const clip = height ? { x: 0, y: 0, width: 1280, height: Math.min(height, await page.evaluate(() => document.body.scrollHeight)) } : undefined;
  await page.screenshot({ path: join(screenshotDir(), `${name}.png`) as `${string}.png`, ...(clip ? { clip, captureBeyondViewport: true } : {}) });
}

/** Waits until the text of `selector` matches; on timeout, the error shows the text it last had. */
async function waitText(page: Page, selector: string, re: RegExp, timeout = 20_000): Promise<string> {
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
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('uib_src'), createTestDatabase('uib_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  await sql(src.url, 'ANALYZE public.orders'); // the backfill's row estimate (its total, hence % and ETA) comes from the statistics
  await migrated(dst.url);
  const env = { SRC_URL: src.url, DST_URL: dst.url };
  // A failing integration: its last two runs failed after a success (fixture rows in the real state tables).
  await insertRun(dst.url, { runId: 'tidemark-invoices/a', integration: 'invoices', status: 'completed', rows: 1200, startedAgo: '3 hours', tookSeconds: 40 });
  await insertRun(dst.url, { runId: 'tidemark-invoices/b', integration: 'invoices', status: 'failed', error: 'relation "public.invoices" does not exist', startedAgo: '2 hours' });
  await insertRun(dst.url, { runId: 'tidemark-invoices/c', integration: 'invoices', status: 'failed', error: 'relation "public.invoices" does not exist', startedAgo: '1 hour' });
  // Earlier runs of orders, for the run history chart.
  for (let i = 0; i < 8; i++) {
    await insertRun(dst.url, { runId: `tidemark-orders-scheduled-${i}/r`, integration: 'orders', status: 'completed', rows: 300 + ((i * 137) % 500), startedAgo: `${(9 - i) * 6} hours`, tookSeconds: 2 + (i % 4) });
  }
  // A row the target refused (a CHECK since relaxed): retrying it now writes it.
  await sql(dst.url, 'CREATE SCHEMA copy; CREATE TABLE copy.letters (id bigint PRIMARY KEY, note text)');
  await sql(
    dst.url,
    `INSERT INTO tidemark.dead_letters (integration, run_id, cursor, record, reason, stage, sqlstate, constraint_name)
     VALUES ('letters', 'tidemark-letters/x', '["2024-01-01 00:00:00+00","7"]', '{"id":"7","note":"<b>seven</b>"}', 'new row violates check constraint "note_short"', 'write', '23514', 'note_short'),
            ('letters', 'tidemark-letters/x', '["2024-01-01 00:00:01+00","8"]', '{"id":"8","note":"eight"}', 'new row violates check constraint "note_short"', 'write', '23514', 'note_short')`,
  );
  worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: QUEUE,
    config: () => config,
    env,
    afterBatch: () => sleep(500), // the backfill takes 20 s or more: long enough to watch it move on a loaded machine
    worker: { workflowBundle: await workflowBundle() },
  });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  await applySchedules(client, config, { taskQueue: QUEUE });
  ui = await createUiServer({ config, env, temporal: client, taskQueue: QUEUE, token: TOKEN, refreshMs: 500, ...(server.uiUrl ? { temporalUiUrl: server.uiUrl } : {}) });
  browser = await puppeteer.launch({ executablePath: CHROME, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
afterAll(async () => {
  await browser?.close();
  await ui?.close();
  worker?.shutdown();
  await running;
  await client?.connection.close();
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('tidemark ui in headless Chromium', () => {
  it('starts a backfill from the page; the overview shows its progress advancing and the failing integration marked', async () => {
    const page = await authedPage();
    await page.goto(`${ui.url}/i/orders`);
    await page.click('form[action="/i/orders/actions/backfill"] button');
    await waitText(page, '#result', /started backfillWorkflow tidemark-orders/, 15_000);

    await page.goto(`${ui.url}/?sort=id`);
    const rows = () => page.$eval('tr[data-id="orders"] .progress-text', (el) => Number(el.getAttribute('data-rows')));
    await page.waitForSelector('tr[data-id="orders"] [data-state="running"]', { timeout: 15_000 });
    // The heartbeat knows the total: the bar shows a percentage, a rate and an ETA...
    await waitText(page, 'tr[data-id="orders"] .live-progress', /[\d,]+ \/ [\d,]+ \(\d+%\) rows · [\d,]+ rows\/s · ETA/);
    // ...and moves on by itself.
    const first = await rows();
    await page.waitForFunction((n) => Number(document.querySelector('tr[data-id="orders"] .progress-text')?.getAttribute('data-rows')) > n, { timeout: 20_000 }, first);
    expect(await rows()).toBeGreaterThan(first);

    expect(await page.$eval('tr[data-id="invoices"]', (el) => el.className)).toBe('failing');
    expect(await page.$eval('tr[data-id="invoices"] [data-state]', (el) => el.textContent)).toBe('failing');
    await shot(page, 'overview');

    const failing = await authedPage();
    await failing.goto(`${ui.url}/?state=failing`);
    expect(await failing.$$eval('#overview tbody tr', (trs) => trs.map((t) => t.getAttribute('data-id')))).toEqual(['invoices']);
    await failing.close();
    await page.close();
  });

  it("shows one integration: chart of its runs, checkpoints, live progress, last errors, Temporal links", async () => {
    const page = await authedPage();
    await page.goto(`${ui.url}/i/orders`);
    await page.waitForSelector('#run-chart[data-drawn]', { timeout: 10_000 });
    // The live bar takes over from the first render with the heartbeat's total.
    await waitText(page, '.live-progress', /\(\d+%\) rows/, 10_000);
    expect(await page.$eval('#checkpoints tbody', (el) => el.textContent)).toMatch(/backfill/);
    expect(await page.$eval('#runs tbody a', (a) => a.getAttribute('href'))).toMatch(/\/namespaces\/default\/workflows\/tidemark-orders\/[0-9a-f-]+\/history$/);
    await shot(page, 'integration', 1500);
    await page.goto(`${ui.url}/i/invoices`);
    expect(await page.$eval('#errors', (el) => el.textContent)).toMatch(/relation "public.invoices" does not exist/);
    await page.close();
    // Let the backfill finish so the next tests run against a quiet worker.
    await client.workflow.getHandle('tidemark-orders').result();
    const [n] = await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders');
    expect(Number(n?.n)).toBe(ROWS);
  });

  it('retries one dead letter from its row, then the rest with retry all', async () => {
    const page = await authedPage();
    await page.goto(`${ui.url}/i/letters/dead-letters`);
    expect(await page.$eval('#dead-letters tbody', (el) => el.textContent)).toMatch(/violates check constraint "note_short"/);
    await shot(page, 'dead-letters');
    const seven = await page.$eval('#dead-letters tbody tr:first-child', (el) => el.getAttribute('data-letter'));
    await page.click(`tr[data-letter="${seven}"] button.retry-one`);
    await waitText(page, '#result', new RegExp(`dead letter #${seven} now passes \\(1 row written\\)`), 15_000);
    expect(await sql(dst.url, 'SELECT id::text, note FROM copy.letters')).toEqual([{ id: '7', note: '<b>seven</b>' }]);
    expect(await sql(dst.url, `SELECT (retried_at IS NOT NULL)::text AS retried FROM tidemark.dead_letters WHERE integration = 'letters' ORDER BY id`)).toEqual([{ retried: 'true' }, { retried: 'false' }]);
    await page.goto(`${ui.url}/i/letters/dead-letters`);
    await page.click('#retry-all');
    await waitText(page, '#result', /1 pending dead letter\(s\) re-processed: 1 now pass \(1 rows written\), 0 still failing/, 15_000);
    expect(await sql(dst.url, 'SELECT id::text, note FROM copy.letters ORDER BY id')).toEqual([{ id: '7', note: '<b>seven</b>' }, { id: '8', note: 'eight' }]);
    await page.goto(`${ui.url}/i/letters/dead-letters?all=1`);
    expect(await page.$$eval('#dead-letters tbody tr', (els) => els.map((el) => el.className))).toEqual(['retried', 'retried']);
    await page.close();
  });

  it('refuses an action without the token, and one with a wrong CSRF token', async () => {
    // A browser without the token gets no page (Chromium turns the 401 challenge into an auth error)...
    const anonymous = await browser.createBrowserContext();
    const page = await anonymous.newPage();
    await expect(page.goto(`${ui.url}/i/invoices`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();
    // ...and a POST with a valid CSRF token but no credentials is refused.
    const authed = await authedPage();
    await authed.goto(`${ui.url}/i/invoices`);
    const csrf = await authed.$eval('input[name="_csrf"]', (i) => (i as HTMLInputElement).value);
    const refused = await authed.evaluate(
      async (csrf) => {
        const r = await fetch('/i/invoices/actions/sync', { method: 'POST', credentials: 'omit', body: new URLSearchParams({ _csrf: csrf }) });
        return { status: r.status, text: await r.text() };
      },
      csrf,
    );
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/authentication required/);

    // With the token but a forged CSRF token (header and form field), the page shows the refusal.
    await authed.evaluate(() => {
      document.body.setAttribute('hx-headers', JSON.stringify({ 'X-CSRF-Token': 'forged' }));
      document.querySelectorAll<HTMLInputElement>('input[name="_csrf"]').forEach((i) => (i.value = 'forged'));
    });
    await authed.click('form[action="/i/invoices/actions/sync"] button');
    await waitText(authed, '#result', /action refused: missing or wrong CSRF token/, 10_000);
    await expect(client.workflow.getHandle('tidemark-invoices').describe()).rejects.toThrow(/not found/i);
    await authed.close();
  });
  it('unpauses and pauses the schedule from the page; the overview shows it', async () => {
    const page = await authedPage();
    const handle = client.schedule.getHandle(scheduleIdFor('invoices'));
    await page.goto(`${ui.url}/?sort=id`);
    expect(await page.$eval('tr[data-id="invoices"]', (el) => el.textContent)).toMatch(/paused/);
    await page.goto(`${ui.url}/i/invoices`);
    await page.click('form[action="/i/invoices/actions/unpause"] button');
    await waitText(page, '#result', /invoices: schedule unpaused/, 10_000);
    expect((await handle.describe()).state.paused).toBe(false);
    await page.goto(`${ui.url}/?sort=id`);
    expect(await page.$eval('tr[data-id="invoices"]', (el) => el.textContent)).toMatch(/in \d+m\d+s|in \d+s/);
    await page.goto(`${ui.url}/i/invoices`);
    await page.type('form[action="/i/invoices/actions/pause"] input[name="note"]', 'maintenance <window>');
    await page.click('form[action="/i/invoices/actions/pause"] button');
    await waitText(page, '#result', /invoices: schedule paused \(maintenance <window>\)/, 10_000);
    const d = await handle.describe();
    expect(d.state.paused).toBe(true);
    expect(d.state.note).toBe('maintenance <window>');
    await page.close();
  });

  it('cancels a running backfill from the page: it stops after the batch in flight, its row says cancelled, the checkpoint holds', async () => {
    const page = await authedPage();
    await page.goto(`${ui.url}/i/slow`);
    await page.click('form[action="/i/slow/actions/backfill"] button');
    await waitText(page, '#result', /started backfillWorkflow tidemark-slow/, 15_000);
    const handle = client.workflow.getHandle('tidemark-slow');
    const runId = (await handle.describe()).runId;
    // A page committed (500 ms apart with afterBatch), so the cancel lands mid-run.
    const committed = async () => Number((await sql<{ n: string }>(dst.url, `SELECT coalesce(sum(rows_done), 0)::text AS n FROM tidemark.checkpoints WHERE integration = 'slow' AND slot = 'backfill'`))[0]?.n);
    const deadline = Date.now() + 20_000;
    while ((await committed()) === 0 && Date.now() < deadline) await sleep(100);
    await page.goto(`${ui.url}/i/slow`);
    await page.click('form[action="/i/slow/actions/cancel"] button');
    await waitText(page, '#result', /cancellation requested for tidemark-slow; it stops after the batch in flight commits/, 15_000);
    await expect(client.workflow.getHandle('tidemark-slow', runId).result()).rejects.toThrow();
    expect((await client.workflow.getHandle('tidemark-slow', runId).describe()).status.name).toBe('CANCELLED');
    expect(await sql(dst.url, `SELECT kind, status FROM tidemark.runs WHERE integration = 'slow'`)).toEqual([{ kind: 'backfill', status: 'cancelled' }]);
    // Stopped part way, and the checkpoint covers exactly the rows committed.
    const done = await committed();
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(ROWS);
    expect(await sql(dst.url, 'SELECT count(*)::int AS n FROM copy.slow')).toEqual([{ n: done }]);
    // Nothing runs any more: a second cancel is refused with its reason.
    await page.goto(`${ui.url}/i/slow`);
    await page.click('form[action="/i/slow/actions/cancel"] button');
    await waitText(page, '#result', /no running workflow to cancel/, 15_000);
    await page.close();
  });
});
