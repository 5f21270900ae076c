export interface FastApiProcess {
    url: string;
    /** the server's process (its CPU is the API's share of the machine) */
    pid: number;
    stop(): Promise<void>;
}
/** bench/lib/fast-api.ts in its own process (as a remote API would be), ready when it prints its URL. */
export declare function startFastApi(repoRoot: string, o: {
    records: number;
    seed: number;
    latencyMs: number;
}): Promise<FastApiProcess>;
