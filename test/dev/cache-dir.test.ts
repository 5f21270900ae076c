import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheDir, ensureTemporalCli, ensureTestServer } from '../../src/dev';
import { withLock } from '../../src/dev/cache-dir';

const root = path.resolve(__dirname, '../..');
const tmp = fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-cache-test-'));
afterAll(async () => fs.rm(await tmp, { recursive: true, force: true }));

/** Runs `fn` with some env vars replaced, restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>): void => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe('cacheDir', () => {
  it('prefers TIDEMARK_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', async () => {
    await withEnv({ TIDEMARK_CACHE_DIR: '/x/tm', XDG_CACHE_HOME: '/x/xdg' }, () => expect(cacheDir()).toBe('/x/tm'));
    await withEnv({ TIDEMARK_CACHE_DIR: undefined, XDG_CACHE_HOME: '/x/xdg' }, () =>
      expect(cacheDir()).toBe('/x/xdg/tidemark'),
    );
    await withEnv({ TIDEMARK_CACHE_DIR: undefined, XDG_CACHE_HOME: undefined }, () =>
      expect(cacheDir()).toBe(path.join(os.homedir(), '.cache', 'tidemark')),
    );
  });
});

describe('installOnce', () => {
  it('builds once when several processes install the same thing at the same time', async () => {
    const finalDir = path.join(await tmp, 'race', 'thing', '1.0.0');
    const builds = path.join(await tmp, 'builds.log');
    const script = `
      const fs = require('node:fs/promises');
      const { installOnce } = require(${JSON.stringify(path.join(root, 'src/dev/cache-dir.ts'))});
      installOnce(${JSON.stringify(finalDir)}, async (tmp) => {
        await fs.appendFile(${JSON.stringify(builds)}, process.pid + '\\n');
        await new Promise((r) => setTimeout(r, 1500));
        await fs.writeFile(tmp + '/done', 'yes');
      }).then(() => fs.readFile(${JSON.stringify(finalDir)} + '/done', 'utf8')).then((s) => process.stdout.write(s));`;
    const run = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: root });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(out))));
      });
    expect(await Promise.all([run(), run(), run()])).toEqual(['yes', 'yes', 'yes']);
    expect((await fs.readFile(builds, 'utf8')).trim().split('\n')).toHaveLength(1);
    const leftovers = (await fs.readdir(path.dirname(finalDir))).filter((n) => n !== '1.0.0');
    expect(leftovers).toEqual([]); // no lock or temp dirs left behind
  });
});

describe('withLock', () => {
  it('runs one holder at a time and removes the lock after each, even after a failure', async () => {
    const lockDir = path.join(await tmp, 'one-at-a-time.lock');
    const events: string[] = [];
    const hold = (id: string, fail = false) =>
      withLock(lockDir, async () => {
        events.push(`${id} in`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        events.push(`${id} out`);
        if (fail) throw new Error(`${id} failed`);
        return id;
      });
    const results = await Promise.allSettled([hold('a', true), hold('b')]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'a failed',
      'b',
    ]);
    // Whichever got it first, the other entered only after it left.
    const first = events[0]?.[0] ?? '';
    const second = first === 'a' ? 'b' : 'a';
    expect(events).toEqual([`${first} in`, `${first} out`, `${second} in`, `${second} out`]);
    await expect(fs.access(lockDir)).rejects.toThrow();
  });
});

describe('env overrides', () => {
  it('uses TIDEMARK_TEMPORAL_CLI / TIDEMARK_TEST_SERVER as given', async () => {
    const fake = path.join(await tmp, 'fake-temporal');
    await fs.writeFile(fake, '#!/bin/sh\n', { mode: 0o755 });
    await withEnv({ TIDEMARK_TEMPORAL_CLI: fake, TIDEMARK_TEST_SERVER: fake }, async () => {
      expect(await ensureTemporalCli()).toBe(fake);
      expect(await ensureTestServer()).toBe(fake);
    });
  });

  it('says what to do when an override is not executable', async () => {
    await withEnv({ TIDEMARK_TEMPORAL_CLI: '/nonexistent/temporal' }, () =>
      expect(ensureTemporalCli()).rejects.toThrow('TIDEMARK_TEMPORAL_CLI=/nonexistent/temporal: not an executable file'),
    );
  });

  it('returns undefined (SDK download fallback) when go / mvn are not on PATH', async () => {
    const empty = path.join(await tmp, 'empty-cache');
    await withEnv({ TIDEMARK_CACHE_DIR: empty, PATH: '/nonexistent', JAVA_HOME: undefined }, async () => {
      expect(await ensureTemporalCli()).toBeUndefined();
      expect(await ensureTestServer()).toBeUndefined();
    });
  });
});
