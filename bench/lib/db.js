"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.redact = void 0;
exports.withClient = withClient;
exports.sql = sql;
exports.databaseUrl = databaseUrl;
exports.ensureDatabase = ensureDatabase;
exports.settle = settle;
exports.tableDigest = tableDigest;
exports.countRows = countRows;
exports.backendPid = backendPid;
const pg_1 = __importDefault(require("pg"));
/** Runs `fn` on a fresh connection (plain pg types) and closes it. */
async function withClient(url, fn, applicationName = 'tidemark-bench') {
    const client = new pg_1.default.Client({ connectionString: url, application_name: applicationName });
    client.on('error', () => undefined);
    await client.connect();
    try {
        return await fn(client);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
async function sql(url, text, values = []) {
    return withClient(url, async (c) => (await c.query(text, values)).rows);
}
/** The same server, another database. */
function databaseUrl(serverUrl, database) {
    const u = new URL(serverUrl);
    u.pathname = `/${database}`;
    return u.toString();
}
/**
 * A database for the bench on the server of `serverUrl`; falls back to the URL's own database when
 * the user may not create databases (a managed DATABASE_URL), which is fine because every bench
 * object lives in its own schema / table names.
 */
async function ensureDatabase(serverUrl, name) {
    try {
        await withClient(serverUrl, async (c) => {
            const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
            if (!exists.rowCount)
                await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
        });
        return databaseUrl(serverUrl, name);
    }
    catch (err) {
        process.stderr.write(`bench: cannot create database ${name} (${err.message}); using ${(0, connect_1.redactUrl)(serverUrl)} itself\n`);
        return serverUrl;
    }
}
/**
 * Makes runs comparable: fresh statistics and visibility maps on the given tables, then a checkpoint
 * so no run pays for the previous run's dirty buffers. CHECKPOINT needs superuser (or pg_checkpoint):
 * without it only the VACUUM happens.
 */
async function settle(targets) {
    for (const t of targets) {
        await withClient(t.url, async (c) => {
            for (const table of t.tables) {
                const exists = await c.query('SELECT to_regclass($1)::text AS oid', [table]);
                if (exists.rows[0]?.oid)
                    await c.query(`VACUUM ANALYZE ${table}`);
            }
        });
    }
    const servers = new Map(targets.map((t) => [serverKey(t.url), t.url]));
    for (const url of servers.values())
        await withClient(url, (c) => c.query('CHECKPOINT')).catch(() => undefined);
}
function serverKey(url) {
    const u = new URL(url);
    return `${u.hostname}:${u.port}`;
}
/** Order-independent digest of whole rows (count and a 64-bit hash sum); cheap enough for 5M rows. */
async function tableDigest(url, table, where = 'true') {
    const [r] = await sql(url, `SELECT count(*)::text AS n, sum(hashtextextended(t::text, 0)::numeric)::text AS h FROM ${table} t WHERE ${where}`);
    return { count: Number(r?.n ?? 0), hash: r?.h ?? '' };
}
async function countRows(url, table) {
    const [r] = await sql(url, `SELECT count(*)::text AS n FROM ${table}`);
    return Number(r?.n ?? 0);
}
const connect_1 = require("../../src/pg/connect");
Object.defineProperty(exports, "redact", { enumerable: true, get: function () { return connect_1.redactUrl; } });
/** Server process id of a connection (for CPU accounting from /proc when the server is local). */
async function backendPid(client) {
    const r = await client.query('SELECT pg_backend_pid() AS pid');
    return Number(r.rows[0]?.pid);
}
//# sourceMappingURL=db.js.map