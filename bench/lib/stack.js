"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.DURABILITIES = void 0;
exports.startBenchStack = startBenchStack;
const node_fs_1 = require("node:fs");
const node_os_1 = require("node:os");
const node_path_1 = require("node:path");
const dev_1 = require("../../src/dev");
const db_1 = require("./db");
exports.DURABILITIES = ['durable', 'throwaway'];
const TMPFS_MAGIC = 0x01021994;
/** A durable cluster lives in a directory on disk that the bench removes afterwards. */
async function startPostgres(durability) {
    if (durability === 'throwaway') {
        const db = await (0, dev_1.startEmbeddedPostgres)({});
        return { db, dataDir: '(a temporary directory)' };
    }
    const dir = (0, node_fs_1.mkdtempSync)((0, node_path_1.join)((0, node_os_1.tmpdir)(), 'tidemark-bench-pg-'));
    (0, node_fs_1.chmodSync)(dir, 0o755); // the server's OS user must enter it
    const dataDir = (0, node_path_1.join)(dir, 'data');
    // persistent: a cluster meant to keep its data, so crash-safe settings (see startEmbeddedPostgres)
    const db = await (0, dev_1.startEmbeddedPostgres)({ dataDir, persistent: true }).catch((err) => {
        (0, node_fs_1.rmSync)(dir, { recursive: true, force: true });
        throw err;
    });
    return { db, dataDir, cleanup: () => (0, node_fs_1.rmSync)(dir, { recursive: true, force: true }) };
}
/** Fails loudly when the cluster does not run with the settings the results will claim. */
async function checkDurability(url, durability) {
    const rows = await (0, db_1.sql)(url, `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')`);
    const want = durability === 'durable' ? 'on' : 'off';
    const wrong = rows.filter((r) => r.setting !== want);
    if (wrong.length || rows.length !== 3) {
        throw new Error(`bench: the ${durability} cluster runs with ${rows.map((r) => `${r.name}=${r.setting}`).join(', ')}; expected all ${want}`);
    }
}
/** Temporal dev server (only when needed) + PostgreSQL (embedded of the given durability, or DATABASE_URL), started together. */
async function startBenchStack(opts) {
    const external = process.env.DATABASE_URL;
    const durability = opts.durability ?? 'durable';
    const t0 = performance.now();
    const [temporal, postgres] = await Promise.allSettled([
        opts.temporal ? (0, dev_1.startDevServer)({}) : Promise.resolve(undefined),
        external ? Promise.resolve(undefined) : startPostgres(durability),
    ]);
    const server = temporal.status === 'fulfilled' ? temporal.value : undefined;
    const pg = postgres.status === 'fulfilled' ? postgres.value : undefined;
    const stop = async () => {
        await Promise.all([server?.stop(), pg?.db.stop()]);
        pg?.cleanup?.();
    };
    if (temporal.status === 'rejected' || postgres.status === 'rejected') {
        await stop();
        throw temporal.status === 'rejected' ? temporal.reason : postgres.reason;
    }
    const serverUrl = pg?.db.url ?? external;
    try {
        if (pg)
            await checkDurability(serverUrl, durability);
    }
    catch (err) {
        await stop();
        throw err;
    }
    const [srcUrl, dstUrl] = [await (0, db_1.ensureDatabase)(serverUrl, 'tidemark_bench_src'), await (0, db_1.ensureDatabase)(serverUrl, 'tidemark_bench_dst')];
    const where = pg?.cleanup ? `${pg.dataDir} (${(0, node_fs_1.statfsSync)(pg.dataDir).type === TMPFS_MAGIC ? 'tmpfs: in memory!' : 'on disk'})` : pg?.dataDir;
    opts.log(`stack up in ${((performance.now() - t0) / 1000).toFixed(1)} s: PostgreSQL ${pg ? `embedded (${durability}) on port ${pg.db.port}, data in ${where}` : 'from DATABASE_URL'}` +
        (server ? `, Temporal dev server at ${server.address}` : ''));
    return {
        postgres: pg ? 'embedded' : 'DATABASE_URL',
        durability: pg ? durability : 'as configured',
        ...(where ? { dataDir: where } : {}),
        serverUrl,
        srcUrl,
        dstUrl,
        temporalAddress: server?.address,
        stop,
    };
}
//# sourceMappingURL=stack.js.map