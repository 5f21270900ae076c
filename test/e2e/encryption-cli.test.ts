import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../src/client';
import { runCli } from '../helpers/cli';
import { ORDERS_YAML, startCliStack, type CliStack } from '../helpers/cli-stack';

/**
 * A CLI whose TIDEMARK_ENCRYPTION_KEY is not the workers' (found by an acceptance run: `--wait` waited for good,
 * `cancel` did nothing, `status` said RUNNING), and a CLI with no key reading an encrypted result.
 */
let stack: CliStack;
let env: NodeJS.ProcessEnv;
let cwd: string;

beforeAll(async () => {
  stack = await startCliStack({ name: 'enc_cli', queue: 'encryption-cli', rows: 2000, yaml: ORDERS_YAML, workerEnv: { TIDEMARK_ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
  ({ env, cwd } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

describe('a CLI and workers with different encryption keys', () => {
  it('another key: --wait ends as stuck with what to do; status and cancel say so too', async () => {
    const other = { ...env, TIDEMARK_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const wait = await runCli(['sync', 'orders', '--wait'], other, cwd);
    expect(wait.code).toBe(1);
    expect(wait.stdout).toMatch(/started syncWorkflow tidemark-orders/);
    expect(wait.stderr).toMatch(/^stuck: the workers fail this workflow's task \(attempt \d+\): .*It cannot run or see a cancel until that is fixed/m);
    expect(wait.stderr).toContain('temporal workflow terminate --workflow-id tidemark-orders');
    const status = await runCli(['status', 'orders'], other, cwd);
    expect(status.stdout).toMatch(/orders: syncWorkflow tidemark-orders RUNNING\n {2}stuck {6}the workers fail this workflow's task/);
    const cancel = await runCli(['cancel', 'orders'], other, cwd);
    expect(cancel.stderr).toMatch(/orders: the cancel cannot take effect yet: the workers fail this workflow's task/);
    // The overview too (an acceptance run: it said ok, its last run being fine, while every workflow task failed).
    const all = await runCli(['status', '--all', '--json'], other, cwd);
    expect(all.code, all.stderr).toBe(0);
    const line = (JSON.parse(all.stdout) as Array<{ id: string; state: string; reason?: string }>).find((l) => l.id === 'orders');
    expect(line).toMatchObject({ state: 'failing', reason: expect.stringMatching(/^tidemark-orders: the workers fail this workflow's task \(attempt \d+\)/) });
    const failing = await runCli(['status', '--all', '--failing'], other, cwd);
    expect(failing.stdout).toMatch(/orders\s+failing/);
    await stack.client.workflow.getHandle(workflowIdFor('orders')).terminate('test: keys differ');
  }, 180_000);

  it('no key here: a completed run says it completed, and that its result needs the key to be read', async () => {
    const r = await runCli(['sync', 'orders', '--wait'], env, cwd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/completed; its result is encrypted and this CLI cannot read it \(.*\): set TIDEMARK_ENCRYPTION_KEY to the workers' key/);
  }, 120_000);
});
