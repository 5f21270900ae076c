import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

/** Runs a script through tsx in its own process: what it prints and how it exits. */
function run(script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: root });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

// A call to a Temporal that does not answer is retried by the client from a timer; the command closes its connection
// meanwhile (it has its outcome). The retry firing after the close must not crash the CLI.
const lateRetry = (close: string) => `
  const { Client, Connection } = require('@temporalio/client');
  const { closeClient } = require('./src/cli/close-client');
  (async () => {
    const connection = await Connection.lazy({ address: '127.0.0.1:1' });
    const client = new Client({ connection });
    client.workflowService.getSystemInfo({}).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300)); // the first try failed; the retry waits in its timer
    ${close}
    console.log('outcome printed');
    await new Promise((r) => setTimeout(r, 3000)); // the retry timers fire
    setTimeout(() => { throw new Error('another failure'); }, 0);
  })();`;

describe('closing the CLI\'s Temporal connection', () => {
  it('a retry timer firing after the close does not crash the command; other uncaught errors still do', async () => {
    const bare = await run(lateRetry('await client.connection.close();'));
    expect(bare.out).toMatch(/Channel has been shut down/); // the crash the helper guards against
    expect(bare.code).toBe(1);
    const guarded = await run(lateRetry('await closeClient(client);'));
    expect(guarded.out).toMatch(/outcome printed/);
    expect(guarded.out).not.toMatch(/Channel has been shut down/);
    expect(guarded.out).toMatch(/another failure/);
    expect(guarded.code).toBe(1);
  }, 30_000);
});
