import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';

/**
 * The worker as it ships (compiled JavaScript, no tsx), built into a temp dir so nothing in the
 * checkout changes: `tsc -p tsconfig.build.json --outDir <tmp>/dist`, node_modules linked, plus a
 * prebuilt workflow bundle and a launcher that hands it to createWorker (workflowBundle.codePath)
 * instead of bundling with webpack at start-up.
 */
export interface DistBuild {
  /** argv after `node` for `tidemark worker --config <file>` from the compiled CLI (bundles at start, as the Docker image does) */
  cli(configFile: string): string[];
  /** argv after `node` for a compiled worker given a prebuilt workflow bundle */
  prebundled(configFile: string): string[];
  cleanup(): void;
}

let building: Promise<DistBuild> | undefined;

export function distBuild(repoRoot: string, log: (s: string) => void): Promise<DistBuild> {
  building ??= (async () => {
    const t0 = performance.now();
    const dir = mkdtempSync(join(tmpdir(), 'tm-bench-dist-'));
    const dist = join(dir, 'dist');
    try {
      await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', dist], {
        cwd: repoRoot,
      });
    } catch (err) {
      // tsc still emits on type errors (someone's work in progress); only a missing output is fatal.
      log(`tsc reported problems building the worker (continuing with what it emitted): ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const { code } = await bundleWorkflowCode({ workflowsPath: join(dist, 'workflows', 'index.js'), logger: quietLogger });
    writeFileSync(join(dir, 'workflow-bundle.js'), code);
    writeFileSync(join(dir, 'cli.js'), `require(${JSON.stringify(join(dist, 'cli', 'main.js'))}).main(process.argv).catch((e) => { console.error(e); process.exit(1); });\n`);
    writeFileSync(
      join(dir, 'prebundled.js'),
      `const { createWorker } = require(${JSON.stringify(join(dist, 'worker.js'))});
const { loadConfig, temporalSettings } = require(${JSON.stringify(join(dist, 'config', 'index.js'))});
// Where the worker's memory is: V8 heap, external (Buffers), the rest (native: Temporal core, malloc) = rss - both.
setInterval(() => {
  const m = process.memoryUsage();
  process.stderr.write('bench-memory ' + JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }) + '\\n');
}, 200).unref();
(async () => {
  const config = loadConfig(process.argv[2]);
  const worker = await createWorker({ config: () => config, worker: { workflowBundle: { codePath: ${JSON.stringify(join(dir, 'workflow-bundle.js'))} } } });
  const s = temporalSettings();
  console.log(\`tidemark worker: \${config.integrations.length} integration(s) on task queue "\${s.taskQueue}" (prebuilt workflow bundle)\`);
  await worker.run();
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    log(`built the compiled worker and a workflow bundle (${Math.round(code.length / 1024)} KiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return {
      cli: (configFile) => [join(dir, 'cli.js'), 'worker', '--config', configFile],
      prebundled: (configFile) => [join(dir, 'prebundled.js'), configFile],
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  })();
  return building;
}

export async function cleanupDistBuild(): Promise<void> {
  if (!building) return;
  const b = await building.catch(() => undefined);
  b?.cleanup();
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
};
