"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.distBuild = distBuild;
exports.cleanupDistBuild = cleanupDistBuild;
const node_child_process_1 = require("node:child_process");
const node_fs_1 = require("node:fs");
const node_os_1 = require("node:os");
const node_path_1 = require("node:path");
const node_util_1 = require("node:util");
let building;
function distBuild(repoRoot, log) {
    building ??= (async () => {
        const t0 = performance.now();
        const dir = (0, node_fs_1.mkdtempSync)((0, node_path_1.join)((0, node_os_1.tmpdir)(), 'tm-bench-dist-'));
        const dist = (0, node_path_1.join)(dir, 'dist');
        try {
            await (0, node_util_1.promisify)(node_child_process_1.execFile)(process.execPath, [(0, node_path_1.join)(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', (0, node_path_1.join)(repoRoot, 'tsconfig.build.json'), '--outDir', dist], {
                cwd: repoRoot,
            });
        }
        catch (err) {
            // tsc still emits on type errors (someone's work in progress); only a missing output is fatal.
            log(`tsc reported problems building the worker (continuing with what it emitted): ${err.message.split('\n').slice(0, 3).join(' ')}`);
        }
        (0, node_fs_1.symlinkSync)((0, node_path_1.join)(repoRoot, 'node_modules'), (0, node_path_1.join)(dir, 'node_modules'), 'dir');
        (0, node_fs_1.mkdirSync)((0, node_path_1.join)(dir, 'bin'));
        (0, node_fs_1.copyFileSync)((0, node_path_1.join)(repoRoot, 'bin', 'tidemark.js'), (0, node_path_1.join)(dir, 'bin', 'tidemark.js'));
        (0, node_fs_1.copyFileSync)((0, node_path_1.join)(repoRoot, 'package.json'), (0, node_path_1.join)(dir, 'package.json'));
        const { stdout } = await (0, node_util_1.promisify)(node_child_process_1.execFile)(process.execPath, [(0, node_path_1.join)(dist, 'dev', 'build-workflow-bundle.js')], { cwd: dir });
        const bundle = (0, node_path_1.join)(dist, 'workflow-bundle.js');
        (0, node_fs_1.writeFileSync)((0, node_path_1.join)(dir, 'prebundled.js'), `const { createWorker } = require(${JSON.stringify((0, node_path_1.join)(dist, 'worker.js'))});
const { loadConfig, temporalSettings } = require(${JSON.stringify((0, node_path_1.join)(dist, 'config', 'index.js'))});
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
`);
        log(`built the worker as it ships into ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${stdout.trim()}`);
        return {
            dist,
            install: (configFile) => [(0, node_path_1.join)(dir, 'bin', 'tidemark.js'), 'worker', '--config', configFile],
            prebundled: (configFile) => [(0, node_path_1.join)(dir, 'prebundled.js'), configFile],
            cleanup: () => (0, node_fs_1.rmSync)(dir, { recursive: true, force: true }),
        };
    })();
    return building;
}
async function cleanupDistBuild() {
    if (!building)
        return;
    const b = await building.catch(() => undefined);
    b?.cleanup();
}
//# sourceMappingURL=dist-build.js.map