import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The worker as it ships, built into a temp dir by the steps of `npm run build` (`tsc -p tsconfig.build.json
 * --outDir <tmp>/dist`, then dist/dev/build-workflow-bundle.js) next to a copy of bin/tidemark.js and linked
 * node_modules: an install as `npm ci` or the Docker image leaves it. A snapshot: edits to the checkout while
 * the bench runs (which would send bin/tidemark.js in the checkout to tsx) do not change what is measured.
 */
export interface DistBuild {
  /** the compiled `dist` folder of the install (what `main` and bin/tidemark.js load) */
  dist: string;
  /** argv after `node` for the default `tidemark worker --config <file>` of the install (launcher, heap flags, prebuilt bundle) */
  install(configFile: string): string[];
  /** argv after `node` for a compiled worker given the prebuilt workflow bundle, without the launcher's settings, reporting process.memoryUsage() */
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
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(repoRoot, 'bin', 'tidemark.js'), join(dir, 'bin', 'tidemark.js'));
    copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
    const { stdout } = await promisify(execFile)(process.execPath, [join(dist, 'dev', 'build-workflow-bundle.js')], { cwd: dir });
    const bundle = join(dist, 'workflow-bundle.js');
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
  const worker = await createWorker({ config: () => config, worker: { workflowBundle: { codePath: ${JSON.stringify(bundle)} } } });
  const s = temporalSettings();
  console.log(\`tidemark worker: \${config.integrations.length} integration(s) on task queue "\${s.taskQueue}" (prebuilt workflow bundle)\`);
  await worker.run();
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    log(`built the worker as it ships into ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${stdout.trim()}`);
    return {
      dist,
      install: (configFile) => [join(dir, 'bin', 'tidemark.js'), 'worker', '--config', configFile],
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
