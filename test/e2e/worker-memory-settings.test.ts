import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import type { RunningDevServer } from '../../src/dev';
import { digest, seedOrders } from '../helpers/fixtures';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

const ROOT = join(__dirname, '..', '..');
const ROWS = 3000;
const READY = /tidemark worker: 1 integration/;

let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
/** An install as `npm ci` / the Docker image leaves it: bin/ and dist/ (built by the build steps), no src/. */
let install: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('mem_src'), createTestDatabase('mem_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  install = mkdtempSync(join(tmpdir(), 'tm-install-'));
  mkdirSync(join(install, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'tidemark.js'), join(install, 'bin', 'tidemark.js'));
  copyFileSync(join(ROOT, 'package.json'), join(install, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(install, 'node_modules'), 'dir');
  // The two steps of `npm run build`, into the install: tsc (or the checkout's dist/ when it is current), then
  // the bundle step. tsc emits even when another file has a type error.
  if (distIsCurrent()) cpSync(join(ROOT, 'dist'), join(install, 'dist'), { recursive: true, filter: (f) => !/workflow-bundle\.js$|workflow-bundle-encrypted\.js$/.test(f) });
  // (a build running in the checkout at the same moment can leave the copy incomplete: compile then)
  if (!existsSync(join(install, 'dist', 'dev', 'build-workflow-bundle.js')) || !existsSync(join(install, 'dist', 'cli', 'main.js'))) {
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(install, 'dist')], {
      cwd: ROOT,
    }).catch(() => undefined);
  }
  await promisify(execFile)(process.execPath, [join(install, 'dist', 'dev', 'build-workflow-bundle.js')], { cwd: install });
  writeFileSync(
    join(install, 'tidemark.yaml'),
    'integrations:\n  - id: orders\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
      '    sink: {kind: postgres, url: "${DST_URL}", table: copy.orders, key: [id], create: true}\n    batchSize: 500\n',
  );
  env = { ...process.env, TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: 'e2e-mem', SRC_URL: src.url, DST_URL: dst.url };
  delete env.NODE_OPTIONS;
  delete env.MALLOC_ARENA_MAX;
  delete env.TIDEMARK_WORKER_HEAP_MB;
});
afterAll(async () => {
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
  if (install) rmSync(install, { recursive: true, force: true });
});

/** dist/ compiled after the last change to src/ (as bin/tidemark.js decides). */
function distIsCurrent(): boolean {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  return existsSync(main) && statSync(main).mtimeMs >= newest(join(ROOT, 'src'));
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

/** `tidemark worker` from the install, in its own process group (as a terminal runs it: Ctrl-C goes to the group). */
async function startWorker(extra: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, [join(install, 'bin', 'tidemark.js'), 'worker'], { cwd: install, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!READY.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(out, 'worker not ready').toMatch(READY);
  return { child, output: () => out, exit };
}

const childrenOf = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
const argsOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
/** Running (not gone, not a zombie waiting for its new parent to reap it). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const envOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

describe('the default worker (tidemark worker from an install)', () => {
  it('runs as a child with the heap flags and MALLOC_ARENA_MAX=2, loads the prebuilt workflow bundle, backfills, and stops gracefully on Ctrl-C', async () => {
    const w = await startWorker();
    const [workerPid, ...others] = childrenOf(w.child.pid!);
    expect(others).toEqual([]);
    // Default cap: 1024 MB, or node's own limit on this machine when lower.
    const nodeLimit = Number(execFileSync(process.execPath, ['-p', 'Math.floor(require("v8").getHeapStatistics().heap_size_limit / 2 ** 20)'], { env, encoding: 'utf8' }));
    const cap = Math.min(1024, nodeLimit);
    expect(argsOf(workerPid!)).toEqual(expect.arrayContaining([`--max-old-space-size=${cap}`, '--max-semi-space-size=2', '--heap-growing-percent=100', join(install, 'bin', 'tidemark.js'), 'worker']));
    expect(w.output()).toContain('--heap-growing-percent=100');
    expect(envOf(workerPid!)).toContain('MALLOC_ARENA_MAX=2');
    expect(w.output()).toContain(`workflows from the prebuilt bundle ${join('dist', 'workflow-bundle.js')}`);
    // V8's own limit, read inside the worker: the old-space cap plus a young generation of a few MB.
    const limit = Number(/V8 heap limit (\d+) MB/.exec(w.output())?.[1]);
    expect(limit).toBeGreaterThanOrEqual(cap);
    expect(limit).toBeLessThan(cap + 64);

    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const handle = await client.workflow.start('backfillWorkflow', { taskQueue: 'e2e-mem', workflowId: `mem-${Date.now()}`, args: [{ integration: 'orders' }] });
      expect((await handle.result()) as RunResult).toMatchObject({ rows: ROWS, done: true });
      expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
      // The worker identity names the process that was started (the launcher), as before the re-execution.
      const { events } = await handle.fetchHistory();
      const identities = new Set(events!.map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter(Boolean));
      expect([...identities]).toEqual([expect.stringMatching(new RegExp(`^${w.child.pid}@`))]);
    } finally {
      await client.connection.close();
    }

    // Ctrl-C in a terminal signals the whole foreground group: the worker must get SIGINT once (from the
    // launcher), since a second one would end it at once instead of gracefully.
    process.kill(-w.child.pid!, 'SIGINT');
    expect(await w.exit).toBe(0);
    expect(w.output()).toMatch(/tidemark worker: stopped/);
  });

  it('TIDEMARK_WORKER_HEAP_MB sets the old-space cap; a heap flag in NODE_OPTIONS runs the worker in place, untouched', async () => {
    const sized = await startWorker({ TIDEMARK_WORKER_HEAP_MB: '300' });
    const [child] = childrenOf(sized.child.pid!);
    expect(argsOf(child!)).toContain('--max-old-space-size=300');
    expect(Number(/V8 heap limit (\d+) MB/.exec(sized.output())?.[1])).toBeLessThan(400);
    sized.child.kill('SIGTERM');
    expect(await sized.exit).toBe(0);

    const own = await startWorker({ NODE_OPTIONS: '--max-old-space-size=200' });
    expect(childrenOf(own.child.pid!)).toEqual([]);
    expect(own.output()).toMatch(/V8 heap limit 2\d\d MB \(--max-old-space-size=200\), MALLOC_ARENA_MAX=unset/);
    own.child.kill('SIGTERM');
    expect(await own.exit).toBe(0);
  });

  it('SIGKILL of the launcher kills the worker too, at once (a kill -9 of the process one started)', async () => {
    const w = await startWorker();
    const [workerPid] = childrenOf(w.child.pid!);
    w.child.kill('SIGKILL');
    await w.exit;
    const deadline = Date.now() + 5_000;
    while (alive(workerPid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(alive(workerPid!), 'the worker outlived its launcher').toBe(false);
    expect(w.output()).not.toMatch(/tidemark worker: stopped/);
  });

  it('SIGTERM to `npx tidemark worker` stops the worker gracefully (npm does not pass it on; the launcher does)', async () => {
    // From the checkout, as test/cli/npx-sigterm.test.ts does (npx resolves the project's own bin there).
    const npx = spawn('npx', ['tidemark', 'worker', '--config', join(install, 'tidemark.yaml')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npx.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npx.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 90_000;
    while (!READY.test(out) && npx.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(READY);
    npx.kill('SIGTERM');
    const stopBy = Date.now() + 15_000;
    while (!/tidemark worker: stopped/.test(out) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/tidemark worker: stopped/);
  }, 150_000);

  it('a bad TIDEMARK_WORKER_HEAP_MB stops before starting anything, naming it', async () => {
    const child = spawn(process.execPath, [join(install, 'bin', 'tidemark.js'), 'worker'], { cwd: install, env: { ...env, TIDEMARK_WORKER_HEAP_MB: '1.5G' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/TIDEMARK_WORKER_HEAP_MB=1\.5G: must be a whole number of MB/);
  });
});
