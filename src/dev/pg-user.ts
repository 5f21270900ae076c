import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { withLock } from './cache-dir';

const run = promisify(execFile);

/** Who the embedded PostgreSQL runs as: ourselves, or (as root, which PostgreSQL refuses) `postgres`. */
export interface ServerUser {
  /** Set only when we are root; spawn() then switches to this user. */
  uid?: number;
  gid?: number;
  name: string;
}

export class PostgresUserError extends Error {
  constructor(
    readonly userName: string,
    readonly reason: string,
  ) {
    super(
      `PostgreSQL refuses to run as root and the '${userName}' OS user could not be created (${reason}): ` +
        `create it (useradd --system --user-group ${userName}), or set DATABASE_URL to a server of your own`,
    );
  }
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** The user the server runs as; as root, creates the `postgres` user (and group) when missing. */
export async function serverUser(name = 'postgres'): Promise<ServerUser> {
  if (!isRoot()) return { name: os.userInfo().username };
  const found = await lookup(name);
  if (found) return found;
  // useradd checks for the name before it locks /etc/passwd: two at once would add the user twice.
  return withLock(path.join(os.tmpdir(), `tidemark-useradd-${name}.lock`), async () => {
    const meanwhile = await lookup(name);
    if (meanwhile) return meanwhile;
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    } catch (err) {
      throw new PostgresUserError(name, err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err));
    }
    const created = await lookup(name);
    if (!created) throw new PostgresUserError(name, 'useradd succeeded but id cannot find the user');
    return created;
  });
}

async function lookup(name: string): Promise<ServerUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { name, uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}
