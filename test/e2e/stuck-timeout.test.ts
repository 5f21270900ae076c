import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDevServer } from '../../src/dev';
import { STUCK_ATTEMPTS, stuckTask } from '../../src/cli/stuck-task';
import { sleep, uniqueQueue, workflowBundle } from '../helpers/temporal';
import { devServerForTests } from '../setup/database';

/**
 * A workflow task whose first attempt timed out (a worker too busy to answer) and whose later attempts fail: the
 * history records only the timeout, the later failures being transient. `status --all --failing` said "nothing
 * failing" for such a run on a loaded CI machine.
 */
let server: RunningDevServer;
let client: Client;

beforeAll(async () => {
  server = await devServerForTests();
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
}, 60_000);
afterAll(async () => {
  await client?.connection.close();
  await server?.stop();
});

describe('a workflow task that timed out first, then fails', () => {
  it('counts as stuck, saying the first attempt timed out', async () => {
    const taskQueue = uniqueQueue('stuck-timeout');
    // A type the workers' bundle lacks: every attempt a worker makes fails.
    const handle = await client.workflow.start('noSuchWorkflow', { taskQueue, workflowId: `stuck-timeout-${Date.now()}`, workflowTaskTimeout: '1s' });
    // A poller that takes the first attempt and never answers: it times out after 1 s.
    const task = await client.connection.withDeadline(Date.now() + 30_000, () =>
      client.workflowService.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, identity: 'a busy worker' }),
    );
    expect(task.taskToken?.length).toBeGreaterThan(0);
    const worker = await Worker.create({ connection: await NativeConnection.connect({ address: server.address }), taskQueue, workflowBundle: await workflowBundle() });
    let stuck: string | undefined;
    await worker.runUntil(async () => {
      for (let i = 0; i < 240 && ((await handle.describe()).raw.pendingWorkflowTask?.attempt ?? 0) < STUCK_ATTEMPTS; i++) await sleep(250);
      stuck = await stuckTask(client, handle);
    });
    const history = await handle.fetchHistory();
    expect(history.events?.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(true);
    expect(history.events?.some((e) => e.workflowTaskFailedEventAttributes)).toBe(false);
    expect(stuck).toMatch(/^the workers fail this workflow's task \(attempt \d+\): its first attempt timed out and no later one completed/);
    await handle.terminate('test over');
  }, 120_000);
});
