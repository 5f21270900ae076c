/**
 * `npm run build`, after tsc: the workflow bundles the compiled worker loads instead of running webpack at
 * start (see ./workflow-bundle.ts). Runs as compiled JavaScript (node dist/dev/build-workflow-bundle.js),
 * so the build needs no tsx; it bundles the compiled workflows next to it, never the sources.
 */
import { writeFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUNDLE_FILES } from './workflow-bundle';

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
};

export async function buildWorkflowBundles(distDir: string): Promise<string[]> {
  const workflowsPath = join(distDir, 'workflows', 'index.js');
  const failureConverterPath = join(distDir, 'codec', 'failure-converter.js');
  const written: string[] = [];
  for (const [kind, file] of Object.entries(BUNDLE_FILES)) {
    const { code } = await bundleWorkflowCode({ workflowsPath, ...(kind === 'encrypted' ? { failureConverterPath } : {}), logger: quietLogger });
    const path = join(distDir, file);
    writeFileSync(path, code);
    written.push(`${relative(process.cwd(), path)} (${Math.round(code.length / 1024)} KiB)`);
  }
  return written;
}

if (require.main === module) {
  if (extname(__filename) !== '.js') {
    process.stderr.write('build-workflow-bundle: run the compiled script (npm run build), not the TypeScript source\n');
    process.exit(2);
  }
  const t0 = performance.now();
  buildWorkflowBundles(join(__dirname, '..')).then(
    (files) => console.log(`workflow bundles: ${files.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`),
    (err: unknown) => {
      console.error(`workflow bundle build failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
