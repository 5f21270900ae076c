import { createHash } from 'node:crypto';
import path from 'node:path';
import { serverUser } from './pg-user';
import { blockingAncestor, sharedDir } from './reachable-dir';

/**
 * Where `tidemark dev` keeps its PostgreSQL cluster when no --data-dir was given: <dataDir>/pg, unless
 * the server's OS user (root runs PostgreSQL as 'postgres') cannot enter it — a clone in root's
 * mode-700 home — in which case a folder of this checkout's own under the shared dir, so the
 * README's command just works and a second run finds the same data. An explicit --data-dir is never
 * moved: it fails with the chmod to run instead.
 */
export async function defaultDevPgDataDir(dataDir: string): Promise<string> {
  const wanted = path.join(path.resolve(dataDir), 'pg');
  if (process.getuid?.() !== 0) return wanted;
  const user = await serverUser();
  if (!(await blockingAncestor(wanted, user))) return wanted;
  const id = createHash('sha1').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  return path.join(await sharedDir(user), `dev-${id}`, 'pg');
}
