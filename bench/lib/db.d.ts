import pg from 'pg';
/** Runs `fn` on a fresh connection (plain pg types) and closes it. */
export declare function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, applicationName?: string): Promise<T>;
export declare function sql<T extends pg.QueryResultRow = Record<string, string>>(url: string, text: string, values?: unknown[]): Promise<T[]>;
/** The same server, another database. */
export declare function databaseUrl(serverUrl: string, database: string): string;
/**
 * A database for the bench on the server of `serverUrl`; falls back to the URL's own database when
 * the user may not create databases (a managed DATABASE_URL), which is fine because every bench
 * object lives in its own schema / table names.
 */
export declare function ensureDatabase(serverUrl: string, name: string): Promise<string>;
/**
 * Makes runs comparable: fresh statistics and visibility maps on the given tables, then a checkpoint
 * so no run pays for the previous run's dirty buffers. CHECKPOINT needs superuser (or pg_checkpoint):
 * without it only the VACUUM happens.
 */
export declare function settle(targets: {
    url: string;
    tables: string[];
}[]): Promise<void>;
/** Order-independent digest of whole rows (count and a 64-bit hash sum); cheap enough for 5M rows. */
export declare function tableDigest(url: string, table: string, where?: string): Promise<{
    count: number;
    hash: string;
}>;
export declare function countRows(url: string, table: string): Promise<number>;
import { redactUrl as redact } from '../../src/pg/connect';
export { redact };
/** Server process id of a connection (for CPU accounting from /proc when the server is local). */
export declare function backendPid(client: pg.Client): Promise<number>;
