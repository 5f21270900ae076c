import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject, vi } from 'vitest';
import { workflowIdFor } from '../../src/client';
import { describeRun } from '../../src/cli/run-progress';
import type { RunningDevServer } from '../../src/dev';
import { runCli } from '../helpers/cli';
import { ORDERS_YAML, startCliStack, type CliStack } from '../helpers/cli-stack';
import { digest, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createUiServer } from '../../src/ui/server';
import { loadConfig } from '../../src/load-config';
import type { TestDatabase } from '../setup/database';

const ROWS = 20_000;
const QUEUE = 'operator-cli';
let stack: CliStack;
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
let env: NodeJS.ProcessEnv;
let client: Client;

beforeAll(async () => {
  stack = await startCliStack({
    name: 'op',
    queue: QUEUE,
    rows: ROWS,
    yaml:
      `${ORDERS_YAML}    batchSize: 500\n` +
      '  - id: never\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id], writersWait: 20s}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.never, key: [id], create: true}\n' +
      '  - id: flaky\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.flaky, key: [id], create: true}\n    batchSize: 500\n',
    // About 10 s for the table: time to look at it and act, even on a loaded machine. `flaky` fails its first attempt.
    worker: {
      afterBatch: async ({ integration, attempt, pages }: { integration: string; attempt: number; pages: number }) => {
        if (integration === 'flaky' && attempt === 1 && pages === 2) throw new Error('the source went away (injected)');
        await sleep(250);
      },
    },
  });
  ({ server, src, dst, cwd, env, client } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

describe('operator commands against a backfill started with `temporal workflow start`', () => {
  it('status shows progress; status --watch follows it to the end', async () => {
    const cli = inject('temporalCliPath');
    expect(cli, 'the Temporal CLI is installed by global setup').not.toBe('');
    await promisify(execFile)(cli, [
      'workflow', 'start', '--address', server.address, '--type', 'backfillWorkflow', '--task-queue', QUEUE,
      '--workflow-id', workflowIdFor('orders'), '--input', '{"integration":"orders"}',
    ]);
    // The first heartbeat (0 rows, no rate yet) comes before the first page: ask until progress shows.
    const progress = /progress +[\d,]+ \/ 20,000 \(\d+%\) rows, [\d,]+ rows\/s, ETA \d+s, cursor \["2024-/;
    let status = await runCli(['status', 'orders'], env, cwd);
    for (let i = 0; i < 10 && !progress.test(status.stdout); i++) status = await runCli(['status', 'orders'], env, cwd);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/orders: backfillWorkflow tidemark-orders RUNNING/);
    expect(status.stdout).toMatch(progress);
    const watch = await runCli(['status', 'orders', '--watch'], env, cwd);
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout).toMatch(/\d+\/~20000 rows \| [\d,]+ rows\/s \| ETA/);
    // It ends at 100 %, at the rows the run ended with (it stopped at its last heartbeat's: an acceptance run).
    expect(watch.stdout).toMatch(/ 20000\/20000 rows \| done\norders: COMPLETED/);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('cancel stops a running backfill; resume --wait finishes it from the checkpoint', async () => {
    await sql(dst.url, 'TRUNCATE copy.orders');
    // Slowed down so the backfill is still running when `cancel` arrives on a loaded machine.
    const started = await runCli(['backfill', 'orders', '--rate', '2000'], env, cwd);
    expect(started.code, started.stderr).toBe(0);
    const busy = await runCli(['backfill', 'orders'], env, cwd);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/integration "orders" is busy: workflow tidemark-orders is running/);
    const done = async () => Number((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders'))[0]!.n);
    while ((await done()) < 1000) await sleep(50);
    const watching = runCli(['status', 'orders', '--watch'], env, cwd);
    await sleep(1500); // the watch has found the running workflow
    const cancel = await runCli(['cancel', 'orders'], env, cwd);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/cancellation requested for tidemark-orders/);
    // --watch ends with the run, and like --wait exits 0 only when it completed.
    const watched = await watching;
    expect(watched.stdout).toMatch(/orders: CANCELLED/);
    expect(watched.code).toBe(1);
    await client.workflow.getHandle(workflowIdFor('orders')).result().catch(() => undefined);
    // A closed workflow: why it ended, and no rate or ETA from its last heartbeat.
    const after = await runCli(['status', 'orders'], env, cwd);
    expect(after.stdout).toMatch(/orders: backfillWorkflow tidemark-orders CANCELL?ED/);
    expect(after.stdout).toMatch(/why +cancell?ed: /);
    expect(after.stdout).not.toMatch(/ETA/);
    // Its checkpoint is not done (a resume continues from it), and not written by anything either.
    expect(after.stdout).toMatch(/ {2}backfill +unfinished \(run cancelled\), \d+ rows/);
    const show = await runCli(['checkpoint', 'show', 'orders'], env, cwd);
    expect(show.stdout).toMatch(/^backfill +unfinished \(run cancelled\) cursor /m);
    // Watching a run that had already ended: the exit code the watch would have given at its end.
    const late = await runCli(['status', 'orders', '--watch'], env, cwd);
    expect(late.code).toBe(1);
    const [cp] = await sql<{ rows_done: string }>(dst.url, `SELECT rows_done::text FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    const atCancel = await done();
    expect(Number(cp!.rows_done)).toBe(atCancel);
    expect(atCancel).toBeLessThan(ROWS);
    const resume = await runCli(['resume', 'orders', '--wait'], env, cwd);
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stdout).toContain(`completed: ${ROWS - atCancel} rows`);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const runs = await runCli(['runs', 'orders'], env, cwd);
    expect(runs.stdout).toMatch(/resume[\s\S]*completed[\s\S]*backfill[\s\S]*cancelled/);
  });

  it('resume with nothing to continue is refused before a workflow starts; without the state database here, the worker refuses it the same way', async () => {
    // The backfill of the test before completed.
    const handle = client.workflow.getHandle(workflowIdFor('orders'));
    const before = (await handle.describe()).runId;
    const done = await runCli(['resume', 'orders'], env, cwd);
    expect(done.code).not.toBe(0);
    expect(done.stderr).toMatch(/error: the last backfill of "orders" already completed \(.+\); start a new one with `tidemark backfill orders`/);
    expect(done.stderr).not.toMatch(/Usage:/); // a refusal, not a mistake in how the command was written
    expect((await handle.describe()).runId).toBe(before);
    const never = await runCli(['resume', 'never'], env, cwd);
    expect(never.code).not.toBe(0);
    expect(never.stderr).toContain('error: no backfill of "never" to resume: start one with `tidemark backfill never`');
    await expect(client.workflow.getHandle(workflowIdFor('never')).describe()).rejects.toThrow(/not found/i);
    // The CLI cannot reach the state database (its URL's variable is the worker's only): the workflow starts and fails with the same words.
    const blind = await runCli(['resume', 'never', '--wait'], { ...env, DST_URL: undefined }, cwd);
    expect(blind.code).not.toBe(0);
    expect(blind.stdout).toMatch(/started backfillWorkflow tidemark-never/);
    expect(blind.stderr).toContain('failed: no backfill of "never" to resume: start one with `tidemark backfill never`');
    expect(await sql(dst.url, `SELECT 1 FROM tidemark.runs WHERE integration = 'never'`)).toEqual([]);
  });

  it('backfill --from null starts from the beginning (null, not an empty string); a cursor of the wrong shape starts nothing', async () => {
    const handle = client.workflow.getHandle(workflowIdFor('orders'));
    const before = (await handle.describe().catch(() => undefined))?.runId; // this file's earlier runs, if any ran
    const bad = await runCli(['backfill', 'orders', '--from', '["2024-01-01"]'], env, cwd);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--from ["2024-01-01"]: invalid cursor');
    expect((await handle.describe().catch(() => undefined))?.runId).toBe(before);
    // Values the source's column types cannot hold: refused here too, when the CLI reaches the source (acceptance run).
    const typed = await runCli(['backfill', 'orders', '--from', '["not a time","1"]'], env, cwd);
    expect(typed.code).toBe(2);
    expect(typed.stderr).toMatch(/error: --from \["not a time","1"\]: .*invalid input syntax for type timestamp with time zone: "not a time"/);
    expect((await handle.describe().catch(() => undefined))?.runId).toBe(before);
    // A bigint typed as a JSON number past 2^53: JSON.parse rounds it; named as typed, not shown rounded (an acceptance run).
    const big = await runCli(['backfill', 'orders', '--from', '["2024-01-01 00:00:00+00", 9007199254740993]'], env, cwd);
    expect(big.code).toBe(2);
    expect(big.stderr).toContain('the number 9007199254740993 is too large for a JSON number to hold exactly (it reads as 9007199254740992); give it as a string, "9007199254740993"');
    const checkpoint = await runCli(['checkpoint', 'set', 'orders', '["2024-01-01 00:00:00+00", 9007199254740993]', '--yes'], env, cwd);
    expect(checkpoint.code).not.toBe(0);
    expect(checkpoint.stderr).toContain('the number 9007199254740993 is too large');
    const started = await runCli(['backfill', 'orders', '--from', 'null', '--wait'], env, cwd);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(`completed: ${ROWS} rows`);
    const first = (await client.workflow.getHandle(workflowIdFor('orders')).fetchHistory()).events?.[0];
    const payload = first?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    expect(JSON.parse(Buffer.from(payload as Uint8Array).toString())).toEqual({ integration: 'orders', from: null });
  });

  it('a backfill started under an id of the operator\'s choosing (`temporal workflow start -w`): status shows it, cancel stops it (acceptance run)', async () => {
    await sql(dst.url, 'TRUNCATE copy.orders');
    await promisify(execFile)(inject('temporalCliPath'), [
      'workflow', 'start', '--address', server.address, '--type', 'backfillWorkflow', '--task-queue', QUEUE,
      '--workflow-id', 'my-own-backfill', '--input', '{"integration":"orders","rate":1000}',
    ]);
    const done = async () => Number((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders'))[0]!.n);
    while ((await done()) < 500) await sleep(50);
    const status = await runCli(['status', 'orders'], env, cwd);
    expect(status.stdout).toMatch(/orders: backfillWorkflow my-own-backfill RUNNING/);
    // The operator page's live progress follows it too (it said "finished" while the run went on).
    const ui = await createUiServer({ config: loadConfig(join(cwd, 'tidemark.yaml')), env, temporal: client, taskQueue: QUEUE });
    try {
      const res = await fetch(`${ui.url}/i/orders/progress`);
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain('finished');
    } finally {
      await ui.close();
    }
    // Another backfill from the CLI is refused: it would queue on the lock, then read everything again (an
    // acceptance run: 2.1M rows read twice); resume follows the running one.
    const ours = async () => (await client.workflow.getHandle(workflowIdFor('orders')).describe()).runId;
    const before = await ours();
    const second = await runCli(['backfill', 'orders'], env, cwd);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('orders: a backfill is running as workflow my-own-backfill (started under an id of its own): another would wait for it and then read everything again');
    expect(await ours()).toBe(before); // nothing started under tidemark's own id
    // A sync too: it would be skipped as busy, and `--wait` said "completed" with exit 0 (an acceptance run).
    const sync = await runCli(['sync', 'orders', '--wait'], env, cwd);
    expect(sync.code).toBe(2);
    expect(sync.stderr).toContain('orders: a backfill is running as workflow my-own-backfill (started under an id of its own): a sync now would find the integration busy and read nothing');
    expect(await ours()).toBe(before);
    const resumed = await runCli(['resume', 'orders'], env, cwd);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('my-own-backfill is a backfill of orders, still running: it continues from its checkpoint by itself; nothing new started');
    const cancel = await runCli(['cancel', 'orders'], env, cwd);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/cancellation requested for my-own-backfill/);
    const handle = client.workflow.getHandle('my-own-backfill');
    await handle.result().catch(() => undefined);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await done()).toBeLessThan(ROWS);
  });

  it('status after a failed attempt that recovered: "recovered", not "retrying", while the next attempt reads (acceptance run)', async () => {
    expect((await runCli(['backfill', 'flaky'], env, cwd)).code).toBe(0);
    const reading = async () => Number((await sql<{ n: string }>(dst.url, `SELECT coalesce(max(rows_done), 0)::text AS n FROM tidemark.checkpoints WHERE integration = 'flaky'`).catch(() => [{ n: '0' }]))[0]!.n);
    // The second attempt starts about a second after the failure and commits pages again.
    let status = await runCli(['status', 'flaky'], env, cwd);
    for (let i = 0; i < 60 && !/recovered {2}attempt 2 is reading/.test(status.stdout); i++) {
      await sleep(500);
      status = await runCli(['status', 'flaky'], env, cwd);
    }
    expect(status.stdout).toMatch(/recovered {2}attempt 2 is reading; the one before failed: the source went away \(injected\)/);
    expect(status.stdout).not.toMatch(/retrying {3}attempt/);
    expect(await reading()).toBeGreaterThan(1_000);
    await client.workflow.getHandle(workflowIdFor('flaky')).result();
  });

  it('a config error only the source or the target can show (a cursor column the table lacks, a missing table, a key without a unique index) starts nothing and writes nothing (acceptance run)', async () => {
    writeFileSync(join(cwd, 'bad-source.yaml'),
      'integrations:\n  - id: badcursor\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, nope]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.badcursor, key: [id], create: true}\n' +
      '  - id: notable\n    source: {kind: postgres, url: "${SRC_URL}", table: public.nothere, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.notable, key: [id], create: true}\n');
    const cursor = await runCli(['sync', 'badcursor', '--config', 'bad-source.yaml'], env, cwd);
    expect(cursor.code).toBe(2);
    expect(cursor.stderr).toContain('error: badcursor: source.cursor[1]: column "nope" does not exist in public.orders');
    const table = await runCli(['backfill', 'notable', '--config', 'bad-source.yaml'], env, cwd);
    expect(table.code).toBe(2);
    expect(table.stderr).toContain('error: notable: source table public.nothere does not exist');
    // The sink's: a target without a unique index on the key, a missing target without create.
    await sql(dst.url, `CREATE SCHEMA IF NOT EXISTS copy; CREATE TABLE IF NOT EXISTS copy.nokey (id bigint, updated_at timestamptz)`);
    writeFileSync(join(cwd, 'bad-sink.yaml'),
      'integrations:\n  - id: nokey\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.nokey, key: [id]}\n' +
      '  - id: notarget\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.notarget, key: [id]}\n' +
      '  - id: keytypo\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.keytypo, key: [idd], create: true}\n' +
      '  - id: typetypo\n    source: {kind: csv, path: typed.csv, columns: {id: {type: bigint}, amount: {type: bigintt}}}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.typetypo, key: [id], create: true}\n');
    writeFileSync(join(cwd, 'typed.csv'), 'id,amount\n1,10\n');
    const nokey = await runCli(['backfill', 'nokey', '--config', 'bad-sink.yaml'], env, cwd);
    expect(nokey.code).toBe(2);
    expect(nokey.stderr).toContain('error: nokey: sink.key: copy.nokey has no primary key or unique index on (id), which the upsert needs: CREATE UNIQUE INDEX ON copy.nokey (id)');
    const notarget = await runCli(['sync', 'notarget', '--config', 'bad-sink.yaml'], env, cwd);
    expect(notarget.code).toBe(2);
    expect(notarget.stderr).toContain('error: notarget: sink table copy.notarget does not exist: create it, or set sink.create: true');
    // A key the source lacks (found by the run only, an acceptance run: a workflow started and a failed run row).
    const keytypo = await runCli(['sync', 'keytypo', '--config', 'bad-sink.yaml', '--wait'], env, cwd);
    expect(keytypo.code).toBe(2);
    expect(keytypo.stderr).toMatch(/error: keytypo: sink\.key\[0\]: column "idd" is not among the source's columns \(id, updated_at, /);
    // A misspelt type of a declared column (a CSV's, an API's) the target would be created with (an acceptance run: the run found it).
    const typetypo = await runCli(['backfill', 'typetypo', '--config', 'bad-sink.yaml', '--wait'], env, cwd);
    expect(typetypo.code).toBe(2);
    expect(typetypo.stderr).toContain('error: typetypo: sink.create: the sink database has no type for column(s) "amount" (bigintt): a type named in source.columns');
    for (const id of ['badcursor', 'notable', 'nokey', 'notarget', 'keytypo', 'typetypo']) await expect(client.workflow.getHandle(workflowIdFor(id)).describe()).rejects.toThrow(/not found/i);
    // No run row (run alone, this file may not have made the state tables at all: nothing written either way).
    const [state] = await sql<{ t: string | null }>(dst.url, `SELECT to_regclass('tidemark.runs')::text AS t`);
    if (state!.t) expect(await sql(dst.url, `SELECT 1 FROM tidemark.runs WHERE integration IN ('badcursor', 'notable', 'nokey', 'notarget', 'keytypo', 'typetypo')`)).toEqual([]);
  });
  it('status names what a blocked run waits for: the lock on the target, then on the source, and who holds it', async () => {
    await sql(dst.url, `DO $$ BEGIN IF to_regclass('copy.orders') IS NOT NULL THEN TRUNCATE copy.orders; END IF; END $$`); // run alone, not made yet
    const started = await runCli(['backfill', 'orders', '--rate', '2000'], env, cwd);
    expect(started.code, started.stderr).toBe(0);
    const handle = client.workflow.getHandle(workflowIdFor('orders'));
    const { default: pg } = await import('pg');
    const hold = async (url: string, table: string) => {
      const c = new pg.Client({ connectionString: url, application_name: 'a-migration' });
      await c.connect();
      await c.query('BEGIN');
      await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      return { c, pid: (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid };
    };
    const waitingLine = async (what: RegExp) => {
      for (let i = 0; i < 60; i++) {
        const out = (await runCli(['status', 'orders'], env, cwd)).stdout;
        const line = out.split('\n').find((l) => l.startsWith('  waiting    ') && what.test(l));
        if (line) return line;
        await sleep(500);
      }
      throw new Error(`no waiting line matching ${what}`);
    };
    await vi.waitFor(async () => expect(Number((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM copy.orders'))[0]!.n)).toBeGreaterThan(0), { timeout: 20_000 });
    const target = await hold(dst.url, 'copy.orders');
    try {
      expect(await waitingLine(/the run's write/)).toMatch(new RegExp(`^  waiting    the run's write \\(pid \\d+\\) has waited \\d+s for a lock held by pid ${target.pid} \\(idle in transaction for \\d+s, application a-migration, "SELECT pg_backend_pid\\(\\) AS pid"\\): it goes on when that transaction ends$`));
    } finally {
      await target.c.query('ROLLBACK');
      await target.c.end();
    }
    const source = await hold(src.url, 'public.orders');
    try {
      expect(await waitingLine(/the run's source read/)).toMatch(new RegExp(`for a lock held by pid ${source.pid} `));
    } finally {
      await source.c.query('ROLLBACK');
      await source.c.end();
    }
    // `resume` of a backfill still running (stalled or not) follows it, not "busy" (an acceptance run).
    const joined = await runCli(['resume', 'orders', '--wait'], env, cwd);
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout).toContain(`${workflowIdFor('orders')} is this backfill, still running: it continues from its checkpoint by itself`);
    expect(joined.stdout).toContain(`completed: ${ROWS} rows`);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect((await runCli(['status', 'orders'], env, cwd)).stdout).not.toContain('waiting    ');
  });

  it('resume beside a backfill that has no checkpoint of its own yet (just started) follows it, not "already completed"', async () => {
    // The backfill above completed; this one runs on a task queue no worker polls, so it never claims a slot.
    const handle = await client.workflow.start('backfillWorkflow', { taskQueue: 'nobody-polls-this', workflowId: workflowIdFor('orders'), args: [{ integration: 'orders' }] });
    try {
      const joined = await runCli(['resume', 'orders'], env, cwd);
      expect(joined.code, joined.stderr).toBe(0);
      expect(joined.stdout).toContain(`${workflowIdFor('orders')} is this backfill, still running`);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    } finally {
      await handle.terminate('test done');
    }
    const refused = await runCli(['resume', 'orders'], env, cwd);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/the last backfill of "orders" already completed/);
  });

  it('status names the writers a run waits for before it reads; --wait prints the run\'s warnings (a writer still open after writersWait) under its outcome', async () => {
    // `never` (run last: an earlier test proves it never ran), its writersWait of 20 s.
    const { default: pg } = await import('pg');
    const writer = new pg.Client({ connectionString: src.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query('LOCK TABLE public.orders IN ROW EXCLUSIVE MODE'); // what an INSERT takes
      const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const running = runCli(['sync', 'never', '--wait'], env, cwd);
      // Seen in Temporal first (a CLI call takes seconds on a loaded machine), then as `status` prints it.
      await vi.waitFor(async () => expect((await describeRun(client, client.workflow.getHandle(workflowIdFor('never'))))?.waitingForWriters).toBeDefined(), { timeout: 60_000, interval: 200 });
      const line = (await runCli(['status', 'never'], env, cwd)).stdout.split('\n').find((l) => l.startsWith('  waiting    '));
      expect(line).toMatch(new RegExp(`^  waiting    the run waits up to 20 s \\(source\\.writersWait\\) for 1 transaction\\(s\\) writing public\\.orders to end before its first read \\(pid ${pid}\\), so rows they commit late are not missed; \\d+ s so far$`));
      const r = await running;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`completed: ${ROWS} rows in .*\\nwarning: 1 transaction\\(s\\) writing public\\.orders were still open after this run waited 20 s for them \\(pid ${pid}\\)`));
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  }, 240_000);

  it('a run cancelled before its row existed (while it waits for writers) is recorded cancelled with its workflow\'s start time, not the cancel\'s', async () => {
    const { default: pg } = await import('pg');
    const writer = new pg.Client({ connectionString: src.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query('LOCK TABLE public.orders IN ROW EXCLUSIVE MODE');
      const started = await runCli(['sync', 'never'], env, cwd);
      expect(started.code, started.stderr).toBe(0);
      const handle = client.workflow.getHandle(workflowIdFor('never'));
      await vi.waitFor(async () => expect((await describeRun(client, handle))?.waitingForWriters).toBeDefined(), { timeout: 60_000, interval: 200 });
      await sleep(2_000);
      const { runId, startTime } = await handle.describe();
      const cancelled = await runCli(['cancel', 'never'], env, cwd);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      const at = Date.now();
      const row = await vi.waitFor(
        async () => {
          const [r] = await sql<{ status: string; started_at: string }>(dst.url, `SELECT status, started_at::text FROM tidemark.runs WHERE run_id = $1`, [`${workflowIdFor('never')}/${runId}`]);
          expect(r?.status).toBe('cancelled');
          return r!;
        },
        { timeout: 30_000, interval: 250 },
      );
      // PostgreSQL's text of the workflow's start (microseconds, +00): within a second of Temporal's, and seconds before the cancel.
      const recorded = new Date(row.started_at.replace(' ', 'T').replace(/\+00$/, 'Z')).getTime();
      expect(Math.abs(recorded - startTime.getTime())).toBeLessThan(1_000);
      expect(at - recorded).toBeGreaterThan(2_000);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  }, 120_000);
});
