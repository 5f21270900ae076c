import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataConverterFromEnv } from '../../src/codec/aes-gcm-codec';
import { parseConfigText } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { jitterOffset, scheduleIdFor } from '../../src/schedules';
import { createWorker } from '../../src/worker';
import { runCli } from '../helpers/cli';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { sleep, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

// Schedules need the real dev server (the time-skipping server has no Schedules API).
const QUEUE = 'e2e-instances';
const KEY = Buffer.alloc(32, 9).toString('base64');
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let client: Client;
let cwd: string;
let env: NodeJS.ProcessEnv;
let worker: Worker;
let running: Promise<void>;

// Every hour, offset by the instance id: a tick during the test is unlikely, and harmless (see the status check).
const YAML = `integrations:
  - id: shop
    template: true
    source: {kind: postgres, url: "\${secret.db}", table: "public.orders_\${instance.region}", cursor: [updated_at, id]}
    sink: {kind: postgres, url: "\${DST_URL}", table: "tenant_\${instance.id}.orders", key: [id], create: true}
    schedule: {every: 1h}
`;
const cli = (...args: string[]) => runCli(args, env, cwd);
const out = async (...args: string[]) => {
  const r = await cli(...args);
  expect(r.stderr, `tidemark ${args.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
};
const fails = async (...args: string[]) => {
  const r = await cli(...args);
  expect(r.code, `tidemark ${args.join(' ')}: ${r.stdout}`).toBe(1);
  return r.stderr;
};
const rows = () => sql(dst.url, 'SELECT template, instance_id, status FROM tidemark.instances ORDER BY 1, 2').catch(() => []);
const describeSchedule = (id: string) => client.schedule.getHandle(scheduleIdFor(id)).describe();
const scheduleExists = (id: string) => describeSchedule(id).then(() => true, () => false);

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('inst_cli_src'), createTestDatabase('inst_cli_dst')]);
  await seedOrders(src.url, { rows: 250, table: 'public.orders_eu' });
  cwd = mkdtempSync(join(tmpdir(), 'tm-inst-'));
  writeFileSync(join(cwd, 'tidemark.yaml'), YAML);
  writeFileSync(join(cwd, 'db-url.secret'), `${src.url}\n`);
  env = { TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: QUEUE, SRC_URL: src.url, DST_URL: dst.url, TIDEMARK_ENCRYPTION_KEY: KEY };
  // Payloads are encrypted (TIDEMARK_ENCRYPTION_KEY, needed for --secret-file anyway): the test's client decodes them too.
  client = new Client({ connection: await Connection.connect({ address: server.address }), dataConverter: dataConverterFromEnv(env) });
  worker = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: QUEUE,
    config: () => parseConfigText(YAML, 'worker.yaml'),
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

describe('tidemark instances (dev server)', () => {
  it('bad input: a clear error, and nothing written (no row, no schedule)', async () => {
    expect(await fails('instances', 'add', 'nope', 'acme')).toBe('unknown template "nope": the config\'s templates are "shop"\n');
    // (Each bad parameter, secret and id is checked through the library in instance-runs.test.ts; here: how the CLI says it.)
    expect(await fails('instances', 'add', 'shop', 'acme', '--secret', 'db=SRC_URL')).toMatch(/missing parameter\(s\) region: template shop uses \$\{instance\.region\}; pass --param region=…/);
    const usage = await cli('instances', 'add', 'shop', 'acme', '--param', 'region');
    expect(usage.code).toBe(2); // a usage error, like every bad argument
    expect(usage.stderr).toMatch(/--param.*must be NAME=VALUE/);
    expect(await fails('instances', 'add', 'shop', 'acme', '--param', 'region=eu', '--secret-file', 'db=missing.txt')).toMatch(/--secret-file db=missing\.txt: cannot read/);
    for (const w of ['0', '-2', 'NaN', '1001', 'lots']) {
      const bad = await cli('instances', 'add', 'shop', 'acme', '--param', 'region=eu', '--secret', 'db=SRC_URL', '--weight', w);
      expect(bad.code, `--weight ${w}`).toBe(2);
      expect(bad.stderr).toMatch(/--weight.*must be a number above 0 and at most 1000/);
    }
    expect((await cli('instances', 'set-weight', 'shop', 'acme', '0')).code).toBe(2);
    expect(await rows()).toEqual([]);
    expect(await scheduleExists('shop/acme')).toBe(false);
  });

  it('add stores the instance and creates its schedule, jittered by its id; adding again changes nothing', async () => {
    const added = await out('instances', 'add', 'shop', 'acme', '--param', 'region=eu', '--secret', 'db=SRC_URL');
    const offset = jitterOffset('shop/acme', 3_600_000) / 1000;
    expect(added).toMatch(new RegExp(`^shop/acme: added; schedule tidemark-shop\\.acme-schedule created \\(every 1h( offset \\S+)?, overlap skip\\)\\n$`));
    const d = await describeSchedule('shop/acme');
    expect(d.spec.intervals).toEqual([{ every: 3_600_000, offset: offset * 1000 }]);
    expect(d.action).toMatchObject({ workflowType: 'syncWorkflow', workflowId: 'tidemark-shop.acme-scheduled', args: [{ integration: 'shop/acme' }] });
    expect(await out('instances', 'add', 'shop', 'acme', '--param', 'region=eu', '--secret', 'db=SRC_URL')).toMatch(/^shop\/acme: unchanged; schedule tidemark-shop\.acme-schedule unchanged/);
    expect(await fails('instances', 'add', 'shop', 'acme', '--param', 'region=us', '--secret', 'db=SRC_URL')).toMatch(/^instance shop\/acme already exists with other parameters or secrets/);
    // A secret from a file is stored encrypted: never in the table, the listing or the JSON.
    await out('instances', 'add', 'shop', 'globex', '--param', 'region=eu', '--secret-file', 'db=db-url.secret');
    const listed = await out('instances', 'list');
    const json = await out('instances', 'list', '--json');
    const stored = await sql(dst.url, 'SELECT secrets::text AS s FROM tidemark.instances');
    for (const text of [listed, json, ...stored.map((r) => r.s!)]) expect(text).not.toContain(src.name);
    expect(listed).toMatch(/^shop\/acme {2}active {2}region=eu {2}secrets db \(env SRC_URL\) {2}weight 1 \(default\) {2}\[tidemark-shop\.acme-schedule\]\nshop\/globex {2}active {2}region=eu {2}secrets db \(encrypted\)/);
    expect(JSON.parse(json)).toMatchObject([{ id: 'shop/acme', status: 'active', params: { region: 'eu' }, secrets: { db: 'env SRC_URL' } }, { id: 'shop/globex', secrets: { db: 'encrypted' } }]);
    // A variable this shell lacks: added (the workers may have it), with a note that they need it.
    const lacking = await cli('instances', 'add', 'shop', 'initech', '--param', 'region=eu', '--secret', 'db=TM_TEST_INITECH_DB');
    expect(lacking.code).toBe(0);
    expect(lacking.stdout).toMatch(/^shop\/initech: added/);
    expect(lacking.stderr).toBe("note: not set in this shell: db=TM_TEST_INITECH_DB; the workers need them in their environment (restarted with them), or this instance's runs fail at their start\n");
    await out('instances', 'remove', 'shop', 'initech');
  });

  it('<template>/<instance-id> works where commands take <id>: sync, status, runs, checkpoint', async () => {
    // globex's own schedule (jittered by its id) may tick inside this test: its sync then finds nothing new and becomes
    // the last run, with 0 rows (a CI run, between the two status readings below). A tick due soon is waited out.
    const tick = (await describeSchedule('shop/globex')).info.nextActionTimes?.[0]?.getTime();
    if (tick !== undefined && tick - Date.now() < 30_000) await sleep(Math.max(0, tick - Date.now()) + 10_000);
    expect(await out('sync', 'shop/globex', '--wait')).toMatch(/completed|250/);
    expect(await digest(dst.url, 'tenant_globex.orders')).toEqual(await digest(src.url, 'public.orders_eu'));
    expect(await out('runs', 'shop/globex', '--json')).toContain('"completed"');
    expect(await out('checkpoint', 'show', 'shop/globex')).toContain('sync');
    expect((await cli('status', 'shop/globex')).code).toBe(0);
    // (acme's schedule may have ticked meanwhile: only globex's line is certain.)
    const status = await out('instances', 'status');
    expect(status).toMatch(/^shop\/acme {2}\S+/);
    expect(status).toMatch(/^shop\/globex {2}ok {2}last success \d{4}-\S+ \S+ {2}lag \S+ {2}rows 250 {2}failures 0 {2}next \d{4}-\S+$/m);
    // The contract's `status --all [--json]` is the same view.
    // (Lag is counted from now: under load a minute may turn between the two commands.)
    const lagless = (text: string) => text.replace(/ {2}lag \S+ {2}/g, '  lag …  ');
    // acme's schedule may still tick between two readings (its next run is in its line): read both again then.
    let [before, all0] = [lagless(status), lagless(await out('status', '--all'))];
    for (let i = 0; i < 2 && all0 !== before; i++) [before, all0] = [lagless(await out('instances', 'status')), lagless(await out('status', '--all'))];
    expect(all0).toBe(before);
    const all = JSON.parse(await out('status', '--all', '--json')) as Array<{ id: string }>;
    expect(all.map((r) => r.id)).toEqual(expect.arrayContaining(['shop/acme', 'shop/globex']));
    const usage = async (...args: string[]) => {
      const r = await cli(...args);
      expect(r.code, `tidemark ${args.join(' ')}`).toBe(2); // a usage error, as commander's own
      return r.stderr;
    };
    expect(await usage('status')).toMatch(/missing integration id: `tidemark status <id>`, or `tidemark status --all`/);
    expect(await usage('status', 'shop/globex', '--all')).toMatch(/give an integration id or --all, not both/);
    expect(await fails('runs', 'shop/nobody')).toMatch(/^unknown instance shop\/nobody: add it with `tidemark instances add shop nobody …`/);
  });

  it('pause and resume: the instance status and its schedule', async () => {
    expect(await out('instances', 'pause', 'shop', 'acme', '--reason', 'card declined')).toBe('shop/acme: paused (schedule paused)\n');
    expect((await describeSchedule('shop/acme')).state).toMatchObject({ paused: true, note: 'instance paused: card declined' });
    expect(await out('instances', 'list')).toMatch(/^shop\/acme {2}paused \(card declined\)/);
    // Its schedule alone is not unpaused behind the instance's back (an acceptance run: every tick then failed, unseen).
    expect(await fails('schedule', 'unpause', 'shop/acme')).toContain('instance shop/acme is paused (card declined): `tidemark instances resume shop acme` resumes it and unpauses its schedule');
    expect((await describeSchedule('shop/acme')).state.paused).toBe(true);
    // A run of it is refused before a workflow starts (it started one that failed at once: an acceptance run).
    const sync = await cli('sync', 'shop/acme', '--wait');
    expect(sync.code).toBe(2);
    expect(sync.stderr).toContain('error: instance shop/acme is paused (card declined): nothing runs until `tidemark instances resume shop acme`');
    expect(sync.stdout).not.toContain('started');
    expect(await out('instances', 'resume', 'shop', 'acme')).toBe('shop/acme: active (schedule unpaused)\n');
    expect((await describeSchedule('shop/acme')).state.paused).toBe(false);
    // An instance's schedule is triggered like an integration's (found by an acceptance run: refused before).
    const triggered = await out('schedule', 'trigger', 'shop/acme');
    const started = /^shop\/acme: started (tidemark-shop\.acme\S*)/.exec(triggered);
    expect(started, triggered).not.toBeNull();
    await client.workflow.getHandle(started![1]!).result().catch(() => undefined);
  });

  it('a malformed instance id is named as one, with the form it must have', async () => {
    for (const bad of ['shop/Acme', 'shop/', 'shop/acme/x', 'shop/a b']) {
      expect(await fails('sync', bad), bad).toContain(`invalid instance id "${bad}": an instance is named <template>/<instance-id>, each part [a-z0-9][a-z0-9_-]*`);
    }
    expect(await fails('runs', 'shop/Acme')).toContain('invalid instance id "shop/Acme"');
    // `instances add` takes the template and the instance id apart: "a/b" is a bad instance id, not a template "a".
    expect(await fails('instances', 'add', 'shop', 'a/b', '--param', 'region=eu')).toContain('invalid instance id "a/b": must match [a-z0-9][a-z0-9_-]*');
  });

  it('reconcile (and schedule apply) recreate missing schedules and delete those whose instance is gone', async () => {
    await client.schedule.getHandle(scheduleIdFor('shop/acme')).delete();
    await sql(dst.url, `DELETE FROM tidemark.instances WHERE instance_id = 'globex'`);
    const r = await out('instances', 'reconcile');
    expect(r).toContain('shop/acme: created (every 1h');
    expect(r).toMatch(/shop\/globex: deleted \(the instance was removed/);
    expect(await scheduleExists('shop/acme')).toBe(true);
    expect(await scheduleExists('shop/globex')).toBe(false);
    // schedule apply runs the same reconciliation and does not call instance schedules orphans.
    expect(await out('schedule', 'apply')).toMatch(/^shop\/acme: unchanged \(every 1h.*\)\n$/);
  });

  it('remove deletes the schedule and the row; --purge also the checkpoints and runs', async () => {
    await out('instances', 'add', 'shop', 'globex', '--param', 'region=eu', '--secret-file', 'db=db-url.secret');
    expect(await out('instances', 'remove', 'shop', 'globex', '--purge')).toBe('shop/globex: removed (schedule deleted; checkpoints, runs and dead letters purged)\n');
    expect(await scheduleExists('shop/globex')).toBe(false);
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.checkpoints WHERE integration = 'shop/globex'`)).toEqual([{ n: '0' }]);
    expect(await out('instances', 'remove', 'shop', 'acme')).toBe('shop/acme: removed (schedule deleted)\n');
    expect(await rows()).toEqual([]);
    expect(await out('instances', 'list')).toMatch(/^no instances/);
    // --purge of an instance that never was (a typo) removes nothing and says so (found by an acceptance run).
    expect(await fails('instances', 'remove', 'shop', 'nobody', '--purge')).toMatch(/^unknown instance shop\/nobody/);
    await sleep(0);
  });
});
