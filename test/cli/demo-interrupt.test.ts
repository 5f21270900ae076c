import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canConnect } from '../../src/dev/free-port';

// `npm start` (tidemark demo) stopped with Ctrl-C in the middle of its backfill: the terminal's SIGINT reaches the
// demo and the servers it started alike (one process group). It must stop everything and exit 130, not wait on a
// run that can no longer finish (found by an acceptance run: a second Ctrl-C then left Temporal running).
const root = path.resolve(__dirname, '../..');
let group: number | undefined;

afterAll(() => {
  if (group) {
    try {
      process.kill(-group, 'SIGKILL'); // only if the test failed half way
    } catch {
      /* gone, as it should be */
    }
  }
});

/** `tidemark demo --rows N` in a process group of its own (as in a terminal), its output gathered. */
function demo(rows: number) {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [path.join(root, 'bin/tidemark.js'), 'demo', '--rows', String(rows)], { cwd: root, env, detached: true });
  group = child.pid;
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

describe('tidemark demo, interrupted', () => {
  it('Ctrl-C during the backfill stops the worker, the API, Temporal and PostgreSQL, and exits 130', async () => {
    const { child, output, exit } = demo(400_000);
    const deadline = Date.now() + 120_000;
    while (!output().includes('Backfill:')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not reach its backfill:\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(-(child.pid as number), 'SIGINT'); // as a terminal's Ctrl-C: the whole process group
    const code = await Promise.race([exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    const out = output();
    expect(code, out).toBe(130);
    group = undefined;
    expect(out).toMatch(/SIGINT: stopping the demo/);
    expect(out).toMatch(/tidemark demo: stopped \(SIGINT\)/);
    expect(out).not.toMatch(/\n\s+at /); // no stack trace
    const temporal = /TEMPORAL_ADDRESS=([\d.]+):(\d+)/.exec(out);
    const pg = /DATABASE_URL=postgres:\/\/[^@]*@([\d.]+):(\d+)/.exec(out);
    expect(temporal && pg).toBeTruthy();
    expect(await canConnect(Number(temporal?.[2]), temporal?.[1])).toBe(false);
    expect(await canConnect(Number(pg?.[2]), pg?.[1])).toBe(false);
  }, 200_000);

  it('Ctrl-C while its servers start exits 130 as promptly', async () => {
    const { child, output, exit } = demo(1_000);
    while (!output().includes('starting a Temporal dev server')) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1_000));
    process.kill(-(child.pid as number), 'SIGINT');
    const code = await Promise.race([exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 45_000))]);
    expect(code, output()).toBe(130);
    group = undefined;
  }, 120_000);

  it('Ctrl-C that reaches PostgreSQL before the demo (its seed cut first) still exits 130', async () => {
    const { child, output, exit } = demo(2_000_000);
    while (!output().includes('Seeding')) {
      if (child.exitCode !== null) throw new Error(`the demo ended early:\n${output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    // The terminal's SIGINT, as a CI run saw it land: PostgreSQL's part first, so the seed fails before the demo
    // hears its own.
    const ps = execFileSync('ps', ['-o', 'pid=,comm=', '-g', String(child.pid)]).toString();
    const postgres = ps.split('\n').map((l) => l.trim().split(/\s+/)).filter(([, comm]) => comm === 'postgres').map(([pid]) => Number(pid));
    expect(postgres.length).toBeGreaterThan(0);
    for (const pid of postgres) process.kill(pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 150));
    process.kill(-(child.pid as number), 'SIGINT');
    const code = await Promise.race([exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 45_000))]);
    expect(code, output()).toBe(130);
    expect(output()).toMatch(/tidemark demo: stopped \(SIGINT\)/);
    group = undefined;
  }, 120_000);
});
