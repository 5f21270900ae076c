import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import { sleep } from '../util/sleep';
import path from 'node:path';
import { processAlive } from './process-alive';

/** Root of tidemark's tool cache: TIDEMARK_CACHE_DIR, else $XDG_CACHE_HOME/tidemark, else ~/.cache/tidemark. */
export function cacheDir(): string {
  const explicit = process.env.TIDEMARK_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return path.join(path.resolve(xdg), 'tidemark');
  return path.join(os.homedir(), '.cache', 'tidemark');
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `cmd` on PATH, or undefined (like `command -v`). */
export async function findOnPath(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, cmd);
    try {
      await fs.access(candidate, fsConstants.X_OK);
      if ((await fs.stat(candidate)).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const LOCK_POLL_MS = 500;
// A lock whose owner we cannot check (no pid written) is considered abandoned after this long.
const LOCK_STALE_MS = 30 * 60_000;

/**
 * Builds `finalDir` exactly once, even with several processes racing: `build` fills a private
 * temp dir that is renamed into place atomically, so `finalDir` exists only when complete.
 * A lock dir next to it keeps a second process from repeating a minutes-long build.
 */
export async function installOnce(finalDir: string, build: (tmpDir: string) => Promise<void>): Promise<void> {
  if (await pathExists(finalDir)) return;
  await fs.mkdir(path.dirname(finalDir), { recursive: true });
  const lockDir = `${finalDir}.lock`;
  const acquired = await acquireLock(lockDir, () => pathExists(finalDir));
  if (!acquired) return; // another process finished the install while we waited
  try {
    if (await pathExists(finalDir)) return;
    await removeLeftovers(finalDir);
    const tmpDir = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await fs.mkdir(tmpDir, { recursive: true });
    try {
      await build(tmpDir);
      await fs.rename(tmpDir, finalDir);
    } finally {
      await fs.rm(tmpDir, { recursive: true, force: true });
    }
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

/** Runs `fn` while no other process (nor call) holding `lockDir` runs; a dead holder's lock is taken over. */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  await acquireLock(lockDir, async () => false);
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

/** Resolves true once we hold the lock, or false if `done()` became true meanwhile. */
async function acquireLock(lockDir: string, done: () => Promise<boolean>): Promise<boolean> {
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(path.join(lockDir, 'pid'), String(process.pid));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await done()) return false;
    if (await lockIsStale(lockDir)) {
      await fs.rm(lockDir, { recursive: true, force: true });
      continue;
    }
    await sleep(LOCK_POLL_MS);
  }
}

async function lockIsStale(lockDir: string): Promise<boolean> {
  const pid = Number.parseInt(await fs.readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => ''), 10);
  if (Number.isInteger(pid) && pid > 0) return !processAlive(pid);
  const stat = await fs.stat(lockDir).catch(() => undefined);
  return stat !== undefined && Date.now() - stat.mtimeMs > LOCK_STALE_MS;
}

/** Temp dirs of builds that crashed; safe to remove because we hold the lock. */
async function removeLeftovers(finalDir: string): Promise<void> {
  const prefix = `${path.basename(finalDir)}.tmp-`;
  const entries = await fs.readdir(path.dirname(finalDir)).catch(() => [] as string[]);
  for (const name of entries) {
    if (name.startsWith(prefix)) {
      await fs.rm(path.join(path.dirname(finalDir), name), { recursive: true, force: true });
    }
  }
}

/** Runs an install step (go, mvn, …) to completion; on failure the error carries the output's tail. */
export async function runInstallCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.trim()}`));
    });
  });
}
