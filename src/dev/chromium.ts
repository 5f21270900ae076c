import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheDir, findOnPath, runInstallCommand, withLock } from './cache-dir';

/**
 * The headless browser that the operator page's browser tests drive: CHROME_PATH, else Debian's
 * `chromium` on the PATH, else (as root, where apt-get exists) installed from Debian's packages once —
 * so `npm test` needs nothing installed by hand. The SDK-style browser download is not used: it
 * needs internet access that machines like CI here don't have. Undefined when none can be had.
 */
export async function ensureChromium(log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<string | undefined> {
  if (process.env.CHROME_PATH) return process.env.CHROME_PATH;
  const found = await findOnPath('chromium');
  if (found) return found;
  const aptGet = await findOnPath('apt-get');
  if (process.getuid?.() !== 0 || !aptGet) return undefined;
  // One installer at a time across processes (parallel test runs, provision).
  await fs.mkdir(cacheDir(), { recursive: true });
  return withLock(path.join(cacheDir(), 'chromium.lock'), async () => {
    const again = await findOnPath('chromium');
    if (again) return again;
    log('tidemark: installing chromium from Debian packages (first run only, for the browser tests)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await runInstallCommand(aptGet, ['update', '-qq'], { env });
    await runInstallCommand(aptGet, ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env });
    return findOnPath('chromium');
  });
}
