"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.startFastApi = startFastApi;
const node_child_process_1 = require("node:child_process");
const node_path_1 = require("node:path");
/** bench/lib/fast-api.ts in its own process (as a remote API would be), ready when it prints its URL. */
async function startFastApi(repoRoot, o) {
    const child = (0, node_child_process_1.spawn)(process.execPath, ['--import', 'tsx', (0, node_path_1.join)(repoRoot, 'bench', 'lib', 'fast-api.ts'), '--records', String(o.records), '--seed', String(o.seed), '--latency', String(o.latencyMs)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`fast-api not ready:\n${out}`)), 60_000);
        const onData = (d) => {
            out += d.toString();
            const m = /fast-api at (http:\/\/\S+)/.exec(out);
            if (m) {
                clearTimeout(timer);
                resolve(m[1]);
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`fast-api exited (${code}):\n${out}`)));
    });
    return {
        url,
        pid: child.pid,
        async stop() {
            if (child.exitCode !== null || child.signalCode !== null)
                return;
            const exited = new Promise((resolve) => child.once('exit', () => resolve()));
            child.kill('SIGTERM');
            await exited;
        },
    };
}
//# sourceMappingURL=fast-api-process.js.map