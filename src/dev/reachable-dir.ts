import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cacheDir } from './cache-dir';
import type { ServerUser } from './pg-user';

export class SharedDirError extends Error {
  constructor(
    readonly dir: string,
    readonly problem: string,
  ) {
    super(
      `Cannot keep PostgreSQL's files in ${dir}: ${problem}. Remove it (rm -rf ${dir}) so tidemark recreates it, ` +
        `or set TIDEMARK_CACHE_DIR to a directory that only you can write and every user can enter`,
    );
  }
}

/**
 * The first directory on the way down to `dir` (inclusive; missing ones are skipped, we create them
 * 0755) that `user` cannot enter, or undefined. spawn() with a uid drops supplementary groups, so
 * owner, primary group and other bits decide; ACLs are not consulted.
 */
export async function blockingAncestor(dir: string, user: ServerUser): Promise<{ dir: string; mode: number } | undefined> {
  if (user.uid === undefined) return undefined; // we are the server's user: whatever we reach, it reaches
  let blocking: { dir: string; mode: number } | undefined;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const stat = await fs.stat(d).catch(() => undefined);
    if (stat && !mayEnter(stat, user)) blocking = { dir: d, mode: stat.mode & 0o7777 };
    if (d === path.dirname(d)) return blocking;
  }
}

function mayEnter(stat: Stats, user: ServerUser): boolean {
  if (stat.uid === user.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === user.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

/**
 * A directory of ours that the server's user can enter, for copies of the PostgreSQL binaries and
 * throwaway clusters when the project itself sits in a private folder (root's home is mode 700).
 * tidemark's cache dir if every user can enter it, else /var/tmp/tidemark-<uid> (kept across
 * reboots, unlike /tmp). It must be ours and not writable by others: we run binaries from it.
 */
export async function sharedDir(user: ServerUser): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const varTmp = (await fs.stat('/var/tmp').catch(() => undefined))?.isDirectory() ? '/var/tmp' : os.tmpdir();
  const candidates = [path.join(cacheDir(), 'shared'), path.join(varTmp, `tidemark-${uid}`)];
  for (const dir of candidates) {
    // Its parents, not itself: a process beside us (umask 077) may have just made it 0700, and chmods it next, as we do.
    if (await blockingAncestor(path.dirname(dir), user)) continue;
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    if (await blockingAncestor(path.dirname(dir), user)) continue; // a umask of 077 made a new parent private
    const stat = await fs.lstat(dir);
    if (!stat.isDirectory()) throw new SharedDirError(dir, 'it is not a directory');
    if (stat.uid !== uid && !mayEnter(stat, user)) continue; // someone else's, closed: not a candidate
    if (stat.uid !== uid) throw new SharedDirError(dir, `it belongs to uid ${stat.uid}, not to us (uid ${uid})`);
    if ((stat.mode & 0o022) !== 0) {
      throw new SharedDirError(dir, `others may write to it (mode ${(stat.mode & 0o777).toString(8)})`);
    }
    if ((stat.mode & 0o755) !== 0o755) await fs.chmod(dir, 0o755); // a umask of 077 made it private
    return dir;
  }
  throw new SharedDirError(candidates.join(' or '), `the '${user.name}' user cannot enter them`);
}

/** Where throwaway clusters and initdb's password file go: the temp dir, or sharedDir() if it is private. */
export async function scratchDir(user: ServerUser): Promise<string> {
  return (await blockingAncestor(os.tmpdir(), user)) ? sharedDir(user) : os.tmpdir();
}
