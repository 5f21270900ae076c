import { ConfigError, parseConfigText } from '../../src/config';
import { workflowIdFor } from '../../src/client';
import { badCliArgs, badWorkflowInputs } from '../lib/bad-inputs';
import { badConfigs, type BadConfig } from '../lib/bad-configs';
import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { snapshotDatabase, snapshotDiff } from '../lib/db-snapshot';
import { recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { sql } from '../lib/sql';
import { activityAttempts, historyEvents, outcome, workflowExists } from '../lib/temporal';

const ID = 'badinput';

/**
 * bad-input: 100+ invalid configs, CLI arguments and workflow inputs, each rejected before anything is
 * written, with a message naming the field: configs and arguments exit non-zero before a workflow
 * starts (no workflow, no table in the target database); workflow inputs fail the workflow at once,
 * non-retryable, with at most one activity attempt and every table of the target database unchanged.
 * Then records that break the validation rules go to dead letters while the run goes on.
 */
export function badInput(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'bad-input', (h) => body(h));
}

async function body(h: Harness): Promise<void> {
  const { f } = h;
  await seedOrders(h.src.url, 5_000);
  h.ws.writeConfig({
    integrations: [
      ordersIntegration(ID, { batchSize: 500 }),
      ordersIntegration('validated', { target: 'copy.validated', batchSize: 500, extra: { validate: { status: { enum: ['new'] }, total: { type: 'number', min: 0 } } } }),
    ],
  });
  await rejectedConfigs(h);
  await rejectedArguments(h, false);
  f.check(!(await workflowExists(h.client, workflowIdFor(ID))), 'a workflow was started by a command with a bad config or argument');
  const tables = [...(await snapshotDatabase(h.dst.url)).keys()];
  f.check(tables.length === 0, `bad configs or arguments created tables in the target database: ${tables.join(', ')}`);

  // State to protect: a completed backfill, then a sharded one (its slots are what `resume` would use).
  await h.ws.startWorker();
  f.check((await h.ws.cli('backfill', ID, '--wait')).code === 0, 'the good backfill failed');
  f.check((await h.ws.cli('backfill', ID, '--shards', '2', '--wait')).code === 0, 'the good sharded backfill failed');
  await rejectedWorkflowInputs(h);
  await rejectedArguments(h, true);
  await deadLetters(h);
}

async function rejectedConfigs(h: Harness): Promise<void> {
  const cases = badConfigs();
  let viaCli = 0;
  let workers = 0;
  // In-process: the very parser every command runs first.
  for (const c of cases) {
    const error = parseError(c);
    h.f.check(error !== undefined && error.includes(c.field), `config "${c.name}": ${error === undefined ? 'accepted' : `message does not name ${c.field}: ${error}`}`);
  }
  // Through the CLI (all of them in a full run; a sample with --quick), and a worker refusing to start.
  const sample = h.ctx.quick ? cases.filter((_, i) => i % 20 === 0) : cases;
  for (let i = 0; i < sample.length; i += 4) {
    await Promise.all(
      sample.slice(i, i + 4).map(async (c, j) => {
        const file = h.ws.writeConfig(c.text, `bad-${i + j}${c.file.endsWith('.yaml') ? '.yaml' : '.json'}`);
        const r = await h.ws.cli('backfill', ID, '--config', file);
        viaCli++;
        h.f.check(r.code !== 0 && r.stderr.includes(c.field) && !/started/.test(r.stdout), `CLI with config "${c.name}": exit ${r.code}, stderr ${r.stderr.trim().slice(0, 200)}`);
      }),
    );
  }
  for (const c of [cases[0], cases[40]] as BadConfig[]) {
    const file = h.ws.writeConfig(c.text, `bad-worker${c.file.endsWith('.yaml') ? '.yaml' : '.json'}`);
    const r = await h.ws.cli('worker', '--config', file);
    workers++;
    h.f.check(r.code !== 0 && r.stderr.includes(c.field), `worker with config "${c.name}": exit ${r.code}, ${r.stderr.trim().slice(0, 200)}`);
  }
  h.f.add({ runs: cases.length });
  h.f.detail(`${cases.length} invalid configs rejected naming the field (${viaCli} of them also by \`tidemark backfill\`: exit 1, no workflow; ${workers} by \`tidemark worker\`, which refused to start)`);
}

function parseError(c: BadConfig): string | undefined {
  try {
    parseConfigText(c.text, c.file);
    return undefined;
  } catch (err) {
    return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
  }
}

async function rejectedArguments(h: Harness, starting: boolean): Promise<void> {
  const cases = badCliArgs(ID).filter((c) => !!c.startsWorkflow === starting);
  const before = starting ? await snapshotDatabase(h.dst.url) : undefined;
  // Four at a time when none of them starts a workflow (each is a node process).
  const parallel = starting ? 1 : 4;
  for (let i = 0; i < cases.length; i += parallel) {
    await Promise.all(
      cases.slice(i, i + parallel).map(async (c) => {
        const t = Date.now();
        const r = await h.ws.cli(...c.args);
        h.f.check(r.code !== 0 && c.expect.test(r.stderr), `tidemark ${c.args.join(' ')}: exit ${r.code}, stderr ${r.stderr.trim().slice(0, 200)}`);
        if (starting) h.f.check(Date.now() - t < 60_000, `tidemark ${c.args.join(' ')}: took ${Math.round((Date.now() - t) / 1000)} s to fail`);
      }),
    );
  }
  if (before) {
    const diff = snapshotDiff(before, await snapshotDatabase(h.dst.url));
    h.f.check(diff === '', `a rejected command wrote to the target database: ${diff}`);
  }
  h.f.add({ runs: cases.length });
  h.f.detail(`${cases.length} invalid CLI arguments rejected${starting ? ' (the workflow they start fails at once, nothing written)' : ' before any workflow starts'}`);
}

async function rejectedWorkflowInputs(h: Harness): Promise<void> {
  const cases = badWorkflowInputs(ID);
  let n = 0;
  for (const c of cases) {
    const before = await snapshotDatabase(h.dst.url);
    const workflowId = `chaos-bad-input-${++n}`;
    const t = Date.now();
    await h.client.workflow.start(c.workflow, { taskQueue: h.ws.taskQueue, workflowId, args: [c.input] });
    const o = await outcome(h.client, workflowId, 120_000);
    const secs = (Date.now() - t) / 1000;
    const what = `${c.workflow}(${JSON.stringify(c.input)})`;
    if (!h.f.check(!o.ok, `${what} completed`) || o.ok) continue;
    h.f.check(c.expect.test(o.error), `${what}: the message does not say ${c.expect}: ${o.error}`);
    h.f.check(o.nonRetryable !== false, `${what}: failed retryable (${o.type}): ${o.error}`);
    h.f.check(secs < 30, `${what}: took ${secs.toFixed(1)} s to fail`);
    const attempts = activityAttempts(await historyEvents(h.client, workflowId));
    h.f.check(attempts.every((a) => a === 1) && attempts.length <= 1, `${what}: activity attempts ${attempts.join(', ')}`);
    const diff = snapshotDiff(before, await snapshotDatabase(h.dst.url));
    h.f.check(diff === '', `${what} wrote before it was rejected: ${diff}`);
  }
  h.f.add({ runs: cases.length });
  h.f.detail(`${cases.length} invalid workflow inputs failed at once, non-retryable, naming the field; the target database unchanged after each`);
}

async function deadLetters(h: Harness): Promise<void> {
  await sql(h.src.url, `UPDATE public.orders SET status = 'bogus' WHERE id % 97 = 0; UPDATE public.orders SET total = -1 WHERE id % 89 = 0`);
  await sql(h.src.url, `CREATE VIEW public.orders_valid AS SELECT * FROM public.orders WHERE status = 'new' AND (total IS NULL OR total >= 0)`);
  const [bad] = await sql<{ n: string }>(h.src.url, `SELECT count(*)::text AS n FROM public.orders WHERE NOT (status = 'new' AND (total IS NULL OR total >= 0))`);
  const r = await h.ws.cli('backfill', 'validated', '--wait');
  h.f.check(r.code === 0, `validated: the run did not complete: ${r.stderr.trim()}`);
  const letters = await sql<{ n: string; reasons: string }>(h.dst.url, `SELECT count(*)::text AS n, string_agg(DISTINCT split_part(reason, ':', 1), ', ') AS reasons FROM tidemark.dead_letters WHERE integration = 'validated'`);
  const n = Number(letters[0]?.n);
  h.f.check(n === Number(bad?.n), `validated: ${n} dead letters, expected ${bad?.n}`);
  recordComparison(h.f, `validated (${n} records broke the rules → dead letters on ${letters[0]?.reasons}; the run went on)`, await compareTables({ url: h.src.url, table: 'public.orders_valid' }, { url: h.dst.url, table: 'copy.validated' }));
  const [run] = await recordRuns(h, 'validated');
  h.f.check(run?.status === 'completed' && run.rowsRejected === n, `validated: run ${run?.status}, rows_rejected ${run?.rowsRejected}`);
}
