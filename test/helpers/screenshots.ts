import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the browser tests write their screenshots: the README's (`docs/screenshots`, committed) only when asked
 * with TIDEMARK_SCREENSHOTS=1, else a temporary folder, so that `npm test` leaves the checkout as it was (each
 * run's images differ: times and durations on the page).
 */
export function screenshotDir(): string {
  const dir = process.env.TIDEMARK_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'screenshots') : join(tmpdir(), 'tidemark-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}
