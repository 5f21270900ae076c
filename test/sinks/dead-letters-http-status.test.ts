import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { insertDeadLetters } from '../../src/db/state';
import { createUiServer, type RunningUi } from '../../src/ui/server';
import { runCli } from '../helpers/cli';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { startDeliveryFake, type DeliveryFake } from './fakes/delivery-fake';
import { ENV, TOKEN, openSink, rows, sinkConfig, stateClient, writePage } from './helpers';

/**
 * `tidemark dead-letters <id>` and the UI's dead-letter page show the API's HTTP status of a refused delivery
 * (tidemark.dead_letters.http_status) as a field of its own. The letters are made by the HTTP sink against the
 * delivery fake (a 409 and a 422), beside a mapping letter that has no status; the CLI runs as its own process.
 */
let db: TestDatabase;
let state: pg.Client;
let api: DeliveryFake;
let ui: RunningUi;
let cwd: string;
let env: NodeJS.ProcessEnv;
const ID = 'orders-api';

beforeAll(async () => {
  [db, api] = await Promise.all([createTestDatabase('dl_http_status'), startDeliveryFake({ reject: (item) => item.id === 3 })]);
  state = await stateClient(db.url);
  // One request at a time: the first (record 1) meets the 409, record 3 is refused with 422.
  api.faults.push({ kind: 'status', status: 409, body: { error: 'version conflict' } });
  const sink = await openSink(sinkConfig(api.url, { concurrency: 1 }), ID);
  expect(await writePage(state, sink, ID, rows(1, 5))).toMatchObject({ written: 3, refused: 2 });
  await state.query('BEGIN');
  await insertDeadLetters(state, ID, 'run-map', { page: 2 }, [{ record: { id: 9 }, reason: 'mapping: total must be a number' }]);
  await state.query('COMMIT');
  const integration = {
    id: ID,
    source: { kind: 'postgres', url: '${STATE_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
    sink: { kind: 'http', url: '${API_URL}/items', key: ['id'], headers: { Authorization: 'Bearer ${API_TOKEN}' }, stateUrl: '${STATE_URL}' },
  };
  env = { STATE_URL: db.url, API_URL: api.url, ...ENV };
  cwd = mkdtempSync(join(tmpdir(), 'tm-dl-status-'));
  writeFileSync(join(cwd, 'tidemark.yaml'), JSON.stringify({ integrations: [integration] })); // JSON is YAML
  ui = await createUiServer({ config: parseConfig({ integrations: [integration] }), env });
});
afterAll(async () => {
  await ui?.close();
  await api?.close();
  await state?.end();
  await db?.drop();
});

describe('dead letters show the API status', () => {
  it('tidemark dead-letters: a line "http status: N" for a refused delivery, none for a mapping letter', async () => {
    const r = await runCli(['dead-letters', ID], env, cwd);
    expect(r.code, r.stderr).toBe(0);
    const blocks = r.stdout.split(/\n(?=#\d+ )/);
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toMatch(/\n {2}http status: 409\n {2}reason: POST \/items → 409: {"error":"version conflict"}\n {2}record: {.*"id": ?1[,}]/);
    expect(blocks[1]).toMatch(/\n {2}http status: 422\n {2}reason: POST \/items → 422: {"error":"invalid record","ids":\[3\],"auth":"Bearer \*\*\*"}/);
    expect(blocks[2]).not.toMatch(/http status/);
    expect(blocks[2]).toMatch(/reason: mapping: total must be a number/);
    expect(r.stdout).not.toContain(TOKEN);
    expect(r.stdout).not.toContain('showing the first');
    // A limit that cuts the listing says so (acceptance run: 50 of 300 shown without a word).
    const cut = await runCli(['dead-letters', ID, '--limit', '2'], env, cwd);
    expect(cut.stdout.split(/\n(?=#\d+ )/)).toHaveLength(2);
    expect(cut.stdout).toContain('showing the first 2 of 3 pending dead letters: --limit N shows more');
  }, 60_000);

  it('tidemark dead-letters --json: http_status is a number, or null', async () => {
    const r = await runCli(['dead-letters', ID, '--json'], env, cwd);
    expect(r.code, r.stderr).toBe(0);
    const letters = JSON.parse(r.stdout) as Array<{ record: { id: number }; http_status: number | null; stage: string }>;
    expect(letters.map((l) => [l.record.id, l.http_status, l.stage])).toEqual([
      [1, 409, 'write'],
      [3, 422, 'write'],
      [9, null, 'validate'],
    ]);
  }, 60_000);

  it("the UI's dead-letter list has an HTTP status column", async () => {
    const page = await (await fetch(`${ui.url}/i/${ID}/dead-letters`)).text();
    expect(page).toContain('<th>HTTP status</th>');
    expect([...page.matchAll(/<td class="http-status">(\d*)<\/td>/g)].map((m) => m[1])).toEqual(['409', '422', '']);
  });

  it('a record the API refuses again while its letter is pending is counted on that letter, status kept', async () => {
    const sink = await openSink(sinkConfig(api.url, { concurrency: 1 }), ID);
    expect(await writePage(state, sink, ID, rows(3, 3))).toMatchObject({ written: 0, refused: 1 });
    const r = await runCli(['dead-letters', ID, '--json'], env, cwd);
    const letters = JSON.parse(r.stdout) as Array<{ record: { id: number }; http_status: number | null; seen: number }>;
    // Made anew as the latest refusal (listed by id: last), seen twice.
    expect(letters.map((l) => [l.record.id, l.http_status, l.seen])).toEqual([
      [1, 409, 1],
      [9, null, 1],
      [3, 422, 2],
    ]);
    expect((await runCli(['dead-letters', ID], env, cwd)).stdout).toMatch(/#\d+ [\d-]+ [\d:]+ \(refused 2 times, last [\d-]+ [\d:]+\) at cursor/);
  }, 60_000);

  it('--retry --letter N names each letter it did not retry and why, exit 1: no such letter, another integration`s, settled (an acceptance run: exit 0, nothing said)', async () => {
    await insertDeadLetters(state, 'someone-else', 'run-x', null, [{ record: { id: 1 }, reason: 'theirs' }]);
    const [{ theirs, settled }] = (await state.query<{ theirs: string; settled: string }>(
      `WITH s AS (INSERT INTO tidemark.dead_letters (integration, record, reason, retried_at) VALUES ('${ID}', '{"id": 77}', 'old', now()) RETURNING id)
       SELECT (SELECT id::text FROM tidemark.dead_letters WHERE integration = 'someone-else') AS theirs, (SELECT id::text FROM s) AS settled`,
    )).rows as [{ theirs: string; settled: string }];
    const r = await runCli(['dead-letters', ID, '--retry', '--letter', '987654', '--letter', theirs, '--letter', settled], env, cwd);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^orders-api: 0 pending dead letter\(s\) re-processed/);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: dead letter #987654 was not retried: no dead letter has this number/),
      expect.stringMatching(new RegExp(`^error: dead letter #${theirs} was not retried: it is a letter of someone-else, not ${ID}`)),
      expect.stringMatching(new RegExp(`^error: dead letter #${settled} was not retried: settled already \\(retried \\d{4}-`)),
    ]);
  }, 60_000);
});
