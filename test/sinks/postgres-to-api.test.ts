import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHashOf } from '../../src/sinks/http';
import { seedOrders } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { startDeliveryFake, type DeliveryFake } from './fakes/delivery-fake';
import { ledger, stateClient } from './helpers';
import { runPages } from './run-pages';

let db: TestDatabase;
let state: pg.Client;
const fakes: DeliveryFake[] = [];

beforeAll(async () => {
  db = await createTestDatabase('pg_to_api');
  state = await stateClient(db.url);
  await seedOrders(db.url, { rows: 100 });
  await state.query('CREATE TABLE test_checkpoint (integration text PRIMARY KEY, cursor jsonb NOT NULL)');
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await state?.end();
  await db?.drop();
});

async function fake(latencyMs: number): Promise<DeliveryFake> {
  const f = await startDeliveryFake({ latencyMs });
  fakes.push(f);
  return f;
}

/** The API holds every row once, the ledger says exactly what it holds, and each record version went with one key only. */
async function expectExactlyOnce(api: DeliveryFake, integration: string): Promise<void> {
  expect(api.store.size).toBe(100);
  expect([...api.applied.values()].every((n) => n === 1)).toBe(true);
  expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
  const keysOf = new Map<string, Set<string | undefined>>();
  for (const l of api.log) for (const id of l.ids) keysOf.set(id, (keysOf.get(id) ?? new Set()).add(l.key));
  expect([...keysOf.values()].every((k) => k.size === 1)).toBe(true);
  const l = await ledger(state, integration);
  expect(l.size).toBe(100);
  for (const [id, rec] of api.store) expect(l.get(`[${id}]`)).toBe(contentHashOf(rec));
}

describe('PostgreSQL → API', () => {
  it('resumes after a crash mid-run: every row applied once, only the page in flight sent again', async () => {
    const api = await fake(2);
    const run = (o: { crashAtPage?: number; fromStart?: boolean } = {}) => runPages({ state, srcUrl: db.url, apiUrl: api.url, integration: 'pg-api', ...o });
    await run({ crashAtPage: 3 });
    expect(api.log.length).toBe(75);
    await run();
    expect(api.log.length).toBe(125); // page 3 twice, with the same keys
    expect(api.log.slice(75, 100).map((l) => l.key).sort()).toEqual(api.log.slice(50, 75).map((l) => l.key).sort());
    await expectExactlyOnce(api, 'pg-api');
    // Values arrive as JSON: numbers, RFC 3339 times, text with tabs and newlines intact.
    expect(api.store.get('11')).toMatchObject({ id: 11, status: 'new', total: 13.75, note: 'tab\there\nnew line \\ backslash' });
    expect(String(api.store.get('11')?.updated_at)).toMatch(/^2024-01-01T00:00:01\.000123\+00:00$/);

    // Changes in the source: only those rows are sent; a backfill of unchanged rows sends nothing.
    const before = api.log.length;
    await state.query(`UPDATE orders SET status = 'paid', updated_at = now() - interval '1 hour' WHERE id IN (3, 30, 60)`);
    await run();
    expect(api.log.length - before).toBe(3);
    expect([3, 30, 60].map((id) => api.store.get(String(id))?.status)).toEqual(['paid', 'paid', 'paid']);
    expect(await run({ fromStart: true })).toBe(4);
    expect(api.log.length - before).toBe(3);
    expect([...api.applied.values()].every((n) => n === 1)).toBe(true);
  });

  it('kill -9 of the delivering process mid-page, then resume: every row applied exactly once, nothing lost', async () => {
    const api = await fake(40); // 25 records at 4 in flight: ~250 ms a page, time to kill inside one
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fakes', 'deliver-child.ts'), db.url, api.url, 'pg-api-kill'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    // Killed once page 2 is committed and page 3 is partly answered: some of its records applied, none committed.
    while (!(out.includes('committed 2') && api.log.length >= 58)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the delivering process did not get to page 3:\n${out}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 100)); // requests the process left in flight finish at the API
    expect(out).not.toContain('done');
    const sentBefore = api.log.length;
    const committed = (await ledger(state, 'pg-api-kill')).size;
    expect(committed % 25).toBe(0);
    expect(committed).toBeLessThan(100);
    expect(api.store.size).toBeGreaterThan(committed); // applied at the API, not committed: the case that matters
    const appliedAtKill = api.store.size;

    await runPages({ state, srcUrl: db.url, apiUrl: api.url, integration: 'pg-api-kill' });
    expect(api.log.length - sentBefore).toBe(100 - committed); // only the rows after the checkpoint, each once
    // Exactly the records applied but not committed came again, with their keys, and were not applied again.
    expect(api.replayed).toBe(appliedAtKill - committed);
    console.log(`http sink kill -9: ${committed} rows committed, ${appliedAtKill} applied at the kill; resume sent ${api.log.length - sentBefore}, ${api.replayed} answered from the API's key memory`);
    await expectExactlyOnce(api, 'pg-api-kill');
  });
});
