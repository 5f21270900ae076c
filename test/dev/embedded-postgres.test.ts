import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { startEmbeddedPostgres } from '../../src/dev';
import { PostgresBinariesError } from '../../src/dev/pg-binaries';
import { serverUser } from '../../src/dev/pg-user';
import { createTestDatabase } from '../setup/database';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  // mkdtemp makes 0700 dirs; PostgreSQL runs as the `postgres` user when we are root.
  const tmp = fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-pg-test-')).then(async (dir) => (await fs.chmod(dir, 0o755), dir));
  afterAll(async () => fs.rm(await tmp, { recursive: true, force: true }));

  it('starts a throwaway cluster that answers queries and is removed on stop', async () => {
    const pg = await startEmbeddedPostgres({});
    let dataDir: string;
    try {
      expect(pg.url).toBe(`postgres://postgres:postgres@127.0.0.1:${pg.port}/postgres`);
      expect(await query(pg.url, 'select 1 as one')).toEqual([{ one: 1 }]);
      const [row] = await query<{ data_directory: string }>(pg.url, 'show data_directory');
      dataDir = row?.data_directory ?? '';
      expect(dataDir.startsWith(os.tmpdir())).toBe(true);
    } finally {
      await pg.stop();
    }
    await pg.stop(); // idempotent
    await expect(fs.access(dataDir)).rejects.toThrow();
  });

  it('keeps a dataDir cluster, with its data, across a restart', async () => {
    const dataDir = path.join(await tmp, 'cluster');
    const first = await startEmbeddedPostgres({ dataDir });
    try {
      await query(first.url, 'create table kept (v text); insert into kept values ($$survives$$)');
    } finally {
      await first.stop();
    }
    expect(await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).toMatch(/^18/);

    const second = await startEmbeddedPostgres({ dataDir }); // must not re-initdb
    try {
      expect(await query(second.url, 'select v from kept')).toEqual([{ v: 'survives' }]);
    } finally {
      await second.stop();
    }
  });

  it('explains when the postgres user cannot reach the data dir', async () => {
    const closed = path.join(await tmp, 'closed');
    await fs.mkdir(closed, { mode: 0o700 });
    const asRoot = process.getuid?.() === 0;
    const started = startEmbeddedPostgres({ dataDir: path.join(closed, 'cluster') });
    if (asRoot) await expect(started).rejects.toThrow(`run chmod o+x ${closed}`);
    else await (await started).stop();
  });

  it('names the package dir and the fix when it holds no PostgreSQL binaries', async () => {
    const pkg = path.join(await tmp, 'not-postgres');
    await fs.mkdir(path.join(pkg, 'native', 'bin'), { recursive: true });
    await fs.writeFile(path.join(pkg, 'package.json'), '{"version": "18.0.0"}');
    const started = startEmbeddedPostgres({ packageDir: pkg });
    await expect(started).rejects.toThrow(PostgresBinariesError);
    await expect(started).rejects.toThrow(`No usable PostgreSQL binaries at ${path.join(pkg, 'native')}: `);
    await expect(started).rejects.toThrow('Run npm ci');
  });

  it('names the port when it is taken', async () => {
    const pg = await startEmbeddedPostgres({});
    try {
      await expect(startEmbeddedPostgres({ port: pg.port })).rejects.toThrow(`port ${pg.port} is already in use`);
    } finally {
      await pg.stop();
    }
  });
});

describe('serverUser', () => {
  it('as root creates the OS user PostgreSQL runs as, once, even when asked twice at the same time', async () => {
    if (process.getuid?.() !== 0) {
      // Not root: PostgreSQL runs as ourselves, with no uid switch.
      expect(await serverUser()).toEqual({ name: os.userInfo().username });
      return;
    }
    const name = `tm_test_${randomBytes(3).toString('hex')}`;
    try {
      const [a, b] = await Promise.all([serverUser(name), serverUser(name)]);
      expect(a).toEqual(b);
      expect(a.uid).toBeGreaterThan(0);
      const { stdout } = await promisify(execFile)('id', ['-u', name]);
      expect(Number(stdout)).toBe(a.uid);
      const entries = (await fs.readFile('/etc/passwd', 'utf8')).split('\n').filter((l) => l.startsWith(`${name}:`));
      expect(entries).toHaveLength(1); // not added twice
    } finally {
      await promisify(execFile)('userdel', [name]).catch(() => undefined);
    }
  });
});

describe('createTestDatabase', () => {
  it('gives each caller its own empty database and drops it', async () => {
    const [a, b] = await Promise.all([createTestDatabase('pg test'), createTestDatabase('pg test')]);
    expect(a.name).not.toBe(b.name);
    expect(a.name).toMatch(/^pg_test_/);
    await query(a.url, 'create table only_in_a (id int)');
    expect(await query(b.url, "select count(*)::int as n from pg_tables where tablename = 'only_in_a'")).toEqual([{ n: 0 }]);
    await Promise.all([a.drop(), b.drop()]);
    await expect(query(a.url, 'select 1')).rejects.toThrow(/does not exist/);
  });
});
