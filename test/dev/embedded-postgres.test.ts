import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/dev';
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

  it('names the port when it is taken', async () => {
    const pg = await startEmbeddedPostgres({});
    try {
      await expect(startEmbeddedPostgres({ port: pg.port })).rejects.toThrow(`port ${pg.port} is already in use`);
    } finally {
      await pg.stop();
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
