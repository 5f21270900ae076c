import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Client } from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { canConnect, freePort } from '../../src/dev/free-port';

const root = path.resolve(__dirname, '../..');
// `tidemark dev` as main.ts would run it, without depending on commands.ts wiring.
const script = `
const { Command } = require('commander');
const { registerDev } = require(${JSON.stringify(path.join(root, 'src/cli/dev.ts'))});
const program = new Command('tidemark').exitOverride();
registerDev(program);
program.parseAsync(process.argv.slice(1), { from: 'user' }).catch((err) => {
  console.error(err.message);
  process.exit(1);
});`;

function runDev(args: string[], databaseUrl?: string): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script, 'dev', ...args], { cwd: root, env });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('tidemark dev', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0)) await fn();
  });

  it('prints the three lines when ready and exits 0 on SIGTERM', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-cli-dev-'));
    await fs.chmod(dataDir, 0o755); // PostgreSQL runs as the `postgres` user when we are root
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const [temporalPort, uiPort, pgPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const dev = runDev(['--data-dir', dataDir, '--temporal-port', `${temporalPort}`, '--ui-port', `${uiPort}`, '--pg-port', `${pgPort}`, '--metrics-port', `${metricsPort}`]);
    cleanups.push(async () => dev.child.exitCode === null && dev.child.kill('SIGKILL'));

    await waitFor(() => dev.stdout().includes('TEMPORAL_UI=') || dev.child.exitCode !== null, 'the ready lines');
    expect(dev.stdout().split('\n').filter(Boolean), dev.stderr()).toEqual([
      `TEMPORAL_ADDRESS=127.0.0.1:${temporalPort}`,
      `DATABASE_URL=postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`,
      `TEMPORAL_UI=http://127.0.0.1:${uiPort}`,
    ]);

    const pg = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres` });
    await pg.connect();
    expect((await pg.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await pg.end();
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    await connection.close();
    // Temporal's own metrics on the port given (not one it picks at random: an acceptance run's port range).
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);

    // A second stack on the same data dir is refused before it starts anything (it started a second Temporal server
    // on the SQLite file, and the first one logged SQLITE_BUSY and shard-ownership errors: an acceptance run).
    const [t2, u2, p2] = [await freePort(), await freePort(), await freePort()];
    const second = runDev(['--data-dir', dataDir, '--temporal-port', `${t2}`, '--ui-port', `${u2}`, '--pg-port', `${p2}`]);
    cleanups.push(async () => second.child.exitCode === null && second.child.kill('SIGKILL'));
    expect(await second.exit).toBe(1);
    expect(second.stderr()).toContain(`the data dir ${dataDir} is in use by another \`tidemark dev\` (pid ${dev.child.pid}): stop it first, or pick another --data-dir`);
    expect(await canConnect(t2)).toBe(false);
    const again = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    await again.workflowService.describeNamespace({ namespace: 'default' });
    await again.close();

    // Twice, a moment apart, as a SIGTERM to `npx tidemark dev`'s process group arrives (the group's, then npx's exit
    // taken as another): one clean stop, not "second signal" (an acceptance run).
    dev.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    dev.child.kill('SIGTERM');
    expect(await dev.exit, dev.stderr()).toBe(0);
    expect(dev.stderr()).not.toContain('second signal');
    expect(await canConnect(temporalPort)).toBe(false);
    expect(await canConnect(pgPort)).toBe(false);
    await fs.access(path.join(dataDir, 'temporal.sqlite'));
    await fs.access(path.join(dataDir, 'pg', 'PG_VERSION'));
    await expect(fs.access(path.join(dataDir, 'tidemark-dev.pid'))).rejects.toThrow(); // released on stop
  });

  it('a server that dies (Temporal, then in another run PostgreSQL) is named, the rest stopped, exit 1 (it exited 0 or ran on)', async () => {
    for (const victim of ['temporal', 'postgres'] as const) {
      const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-cli-dev-die-'));
      await fs.chmod(dataDir, 0o755);
      cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
      const [temporalPort, uiPort, pgPort] = [await freePort(), await freePort(), await freePort()];
      const dev = runDev(['--data-dir', dataDir, '--temporal-port', `${temporalPort}`, '--ui-port', `${uiPort}`, '--pg-port', `${pgPort}`]);
      cleanups.push(async () => dev.child.exitCode === null && dev.child.kill('SIGKILL'));
      await waitFor(() => dev.stdout().includes('TEMPORAL_UI=') || dev.child.exitCode !== null, 'the ready lines');
      if (victim === 'postgres') {
        const pid = Number((await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
        process.kill(pid, 'SIGKILL');
      } else {
        const pids = await new Promise<string>((resolve) => {
          const p = spawn('pgrep', ['-f', `start-dev --ip 127.0.0.1 --port ${temporalPort} `]);
          let out = '';
          p.stdout.on('data', (c: Buffer) => (out += c.toString()));
          p.on('close', () => resolve(out));
        });
        for (const pid of pids.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      }
      expect(await dev.exit, dev.stderr()).toBe(1);
      expect(dev.stderr()).toMatch(victim === 'postgres' ? new RegExp(`tidemark: PostgreSQL on port ${pgPort} exited \\(.+\\); stopping the rest`) : /tidemark: the Temporal dev server exited \(.+\); stopping the rest/);
      expect(await canConnect(temporalPort)).toBe(false);
      expect(await canConnect(pgPort)).toBe(false);
    }
  }, 180_000);

  it('with DATABASE_URL: no PostgreSQL started, and one that does not answer is refused before Temporal starts', async () => {
    const [temporalPort, deadPg] = [await freePort(), await freePort()];
    const dead = runDev(['--temporal-port', `${temporalPort}`], `postgres://someone:secret@127.0.0.1:${deadPg}/appdb`);
    expect(await dead.exit).toBe(1);
    expect(dead.stderr()).toContain(`cannot use DATABASE_URL (127.0.0.1:${deadPg}/appdb): connect ECONNREFUSED 127.0.0.1:${deadPg}. Check that server and the URL, or unset DATABASE_URL`);
    expect(dead.stderr()).not.toContain('secret');
    expect(await canConnect(temporalPort)).toBe(false);
    const notUrl = runDev(['--temporal-port', `${temporalPort}`], 'notaurl');
    expect(await notUrl.exit).toBe(1);
    expect(notUrl.stderr()).toContain('DATABASE_URL is not a PostgreSQL URL (postgres://user:password@host:port/database)');
    // One that answers (the tests' own server): used as it is, said so.
    const live = inject('adminDatabaseUrl');
    const dev = runDev(['--temporal-port', `${temporalPort}`, '--ui-port', `${await freePort()}`], live);
    cleanups.push(async () => dev.child.exitCode === null && dev.child.kill('SIGKILL'));
    await waitFor(() => dev.stderr().includes('dev stack running') || dev.child.exitCode !== null, 'the stack');
    expect(dev.stdout(), dev.stderr()).toContain(`DATABASE_URL=${live}\n`);
    expect(dev.stderr()).toContain('tidemark: PostgreSQL is the server at DATABASE_URL (it answers); none was started');
    dev.child.kill('SIGTERM');
    expect(await dev.exit).toBe(0);
  });

  it('fails clearly, naming the flag, when a port is busy', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const busy = (blocker.address() as net.AddressInfo).port;
    const dev = runDev(['--temporal-port', `${busy}`]);
    expect(await dev.exit).toBe(1);
    expect(dev.stderr()).toContain(`Port ${busy} (Temporal gRPC) is already in use: pass --temporal-port <port>`);
  });

  it("a --data-dir PostgreSQL's OS user cannot reach is refused before anything starts or is written", async () => {
    // As root the server runs as 'postgres', kept out of a mode-700 folder (a clone in root's home); as anyone else, their own folder closed to them.
    const closed = await fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-dev-closed-'));
    await fs.chmod(closed, process.getuid?.() === 0 ? 0o700 : 0o000);
    cleanups.push(async () => (await fs.chmod(closed, 0o700), fs.rm(closed, { recursive: true, force: true })));
    const dev = runDev(['--data-dir', path.join(closed, 'data'), '--temporal-port', `${await freePort()}`, '--pg-port', `${await freePort()}`]);
    expect(await dev.exit).toBe(1);
    expect(dev.stderr()).toMatch(new RegExp(`cannot enter ${closed}|${closed} \\(mode 0\\) does not let this user in`));
    await fs.chmod(closed, 0o700);
    expect(await fs.readdir(closed)).toEqual([]);
  });
});
