/**
 * `npx tsx test/replay/record-histories.ts`: runs each workflow kind once on the time-skipping test
 * server (through the test kit) and saves its history to test/replay/histories/<kind>.history (binary protobuf, base64) for the
 * replay test. Record again only when a workflow change is meant to be incompatible (and then ship it
 * under a new workflow type or with patching, so runs in flight keep working); see README "Replay tests".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { createTestKit } from '../../src/testing';

const ROWS = 20_000;

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const integration = (id: string, extra: object = {}) => ({
    id,
    source: { kind: 'postgres', url: '${SRC}', table: 'public.items', cursor: ['updated_at', 'id'] },
    sink: { kind: 'postgres', url: '${DST}', table: `copy.${id.replace(/-/g, '_')}`, key: ['id'], create: true },
    batchSize: 1000,
    ...extra,
  });
  const kit = await createTestKit({
    config: { integrations: [integration('items'), integration('items-deletes', { deletes: { reconcileEvery: '1h' } })] },
  });
  try {
    const src = await kit.createDatabase('replay_src');
    const dst = await kit.createDatabase('replay_dst');
    kit.setEnv({ SRC: src, DST: dst });
    await sql(src, `CREATE TABLE items (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, name text);
      INSERT INTO items SELECT g, '2026-01-01'::timestamptz + g * interval '1 second', 'item ' || g FROM generate_series(1, ${ROWS}) g`);
    const client = kit.env.client;
    const save = async (kind: string, workflowId: string) => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      // Binary protobuf (base64): exact, and independent of the SDK's JSON converter.
      const bytes = temporal.api.history.v1.History.encode(temporal.api.history.v1.History.fromObject(history)).finish();
      writeFileSync(join(__dirname, 'histories', `${kind}.history`), `${Buffer.from(bytes).toString('base64')}\n`);
      console.log(`${kind}: ${history.events?.length ?? 0} events`);
    };
    const run = async (kind: string, type: string, input: object) => {
      const workflowId = `record-${kind}`;
      await client.workflow.execute(type, { taskQueue: kit.taskQueue, workflowId, args: [input] });
      await save(kind, workflowId);
    };
    await run('sync', 'syncWorkflow', { integration: 'items' });
    await run('sync-deletes', 'syncWorkflow', { integration: 'items-deletes' });
    await run('backfill', 'backfillWorkflow', { integration: 'items' });
    // Failed for good by the activity (an integration the worker does not have): the failure path replays too.
    for (const [kind, type] of [['sync-failed', 'syncWorkflow'], ['backfill-failed', 'backfillWorkflow']] as const) {
      await client.workflow.execute(type, { taskQueue: kit.taskQueue, workflowId: `record-${kind}`, args: [{ integration: 'nope' }] }).catch(() => undefined);
      await save(kind, `record-${kind}`);
    }

    // Sharded, slowed down so the tune signal lands while shards run.
    const tuned = await client.workflow.start('backfillWorkflow', { taskQueue: kit.taskQueue, workflowId: 'record-backfill-sharded-tuned', args: [{ integration: 'items', shards: 3, rate: 4000 }] });
    await new Promise((r) => setTimeout(r, 1500));
    await tuned.signal('tune', { rowsPerSecond: 100_000, batchSize: 2000 });
    await tuned.result();
    await save('backfill-sharded-tuned', tuned.workflowId);

    // A backfill cancelled part-way, then resumed from its checkpoint.
    const first = await client.workflow.start('backfillWorkflow', { taskQueue: kit.taskQueue, workflowId: 'record-backfill-cancelled', args: [{ integration: 'items', rate: 4000 }] });
    await new Promise((r) => setTimeout(r, 1500));
    await first.cancel();
    await first.result().catch(() => undefined);
    await run('backfill-resume', 'backfillWorkflow', { integration: 'items', resume: true });
  } finally {
    await kit.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
