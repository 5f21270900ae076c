import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canConnect, freePort } from '../../src/dev/free-port';

const ROOT = join(__dirname, '..', '..');

/**
 * `npx tidemark …` runs tidemark as npm's grandchild, and npm does not pass SIGTERM on. A process
 * manager that stops the command it started (SIGTERM to npx) must stop tidemark too.
 */
describe('SIGTERM to the npx process of a long-running command', () => {
  it('stops tidemark itself, cleanly', async () => {
    const port = await freePort();
    const npx = spawn('npx', ['tidemark', 'codec-server', '--port', String(port)], {
      cwd: ROOT,
      env: { ...process.env, TIDEMARK_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npx.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npx.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 150_000; // a first npx in a fresh clone links the package: slow on a loaded machine
      while (!(await canConnect(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await canConnect(port), out).toBe(true);

      npx.kill('SIGTERM');
      const stopBy = Date.now() + 10_000;
      while ((await canConnect(port)) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 200));
      expect(await canConnect(port), `tidemark still serves on ${port} after SIGTERM to npx:\n${out}`).toBe(false);
    } finally {
      // A failed assertion must not leave the server behind: once npx is gone, tidemark stops itself.
      npx.kill('SIGKILL');
    }
  }, 200_000);
});
