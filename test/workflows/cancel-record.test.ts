import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeSkippingEnv } from '../setup/database';
import { uniqueQueue, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/**
 * The workflows' side of a cancel with the state database down: the run's activity confirms the cancel, and marking
 * its row (recordCancelled) fails every try. Activities stand in for the real ones here (what is tested is the
 * workflow's retry of that step, on the time-skipping server): it used to take ten tries, about 3 minutes.
 */
describe('a cancel while the state database is down', () => {
  for (const workflow of ['syncWorkflow', 'backfillWorkflow'] as const) {
    it(`${workflow}: closes cancelled after a few quick tries to mark the row, not minutes`, async () => {
      const taskQueue = uniqueQueue('cancel-record');
      let tries = 0;
      let reading!: () => void;
      const started = new Promise<void>((r) => (reading = r));
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        maxHeartbeatThrottleInterval: '100 milliseconds', // the cancel reaches the activity at once
        activities: {
          async runIntegration() {
            reading();
            const ctx = Context.current();
            for (;;) {
              ctx.heartbeat();
              await ctx.sleep(200); // throws the CancelledFailure once the cancel arrives with a heartbeat's answer
            }
          },
          recordCancelled() {
            tries++;
            return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
          },
        },
      });
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start(workflow, { taskQueue, workflowId: `cancel-record-${workflow}`, args: [{ integration: 'orders' }] });
        await started;
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow();
        const history = await handle.fetchHistory();
        const events = history.events ?? [];
        const time = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
        // From the run's activity confirming the cancel, to the close: the tries to mark the row.
        const asked = events.find((e) => e.activityTaskCanceledEventAttributes);
        const closed = events[events.length - 1]!;
        expect(closed.workflowExecutionCanceledEventAttributes).toBeTruthy();
        expect(tries).toBe(4);
        // Workflow time (the server skips the waits between tries): 1 + 2 + 4 s of backoff, not minutes.
        expect(time(closed) - time(asked!)).toBeLessThan(20_000);
      });
    });
  }
});
