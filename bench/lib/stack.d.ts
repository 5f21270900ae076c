/**
 * 'durable': fsync, synchronous_commit and full_page_writes on, WAL on disk — what every user's database
 * pays. 'throwaway': all three off (a test cluster). With DATABASE_URL the server's own settings apply.
 */
export type Durability = 'durable' | 'throwaway';
export declare const DURABILITIES: readonly Durability[];
export interface BenchStack {
    /** 'embedded' (a private cluster of the given durability) or 'DATABASE_URL' */
    postgres: 'embedded' | 'DATABASE_URL';
    /** what the cluster was started as (DATABASE_URL: whatever the server is) */
    durability: Durability | 'as configured';
    /** where the cluster's data and WAL live, for the results (embedded only) */
    dataDir?: string;
    serverUrl: string;
    srcUrl: string;
    dstUrl: string;
    /** set when a path needs Temporal */
    temporalAddress?: string;
    stop(): Promise<void>;
}
/** Temporal dev server (only when needed) + PostgreSQL (embedded of the given durability, or DATABASE_URL), started together. */
export declare function startBenchStack(opts: {
    temporal: boolean;
    log: (s: string) => void;
    durability?: Durability;
}): Promise<BenchStack>;
