import type { Client } from '@temporalio/client';
import type { LoopResult } from '../lib/loop-copy';

export type PathId = 'limit' | 'naive' | 'bare' | 'tidemark' | `tidemark-shards-${number}` | `tidemark-shards-${number}-workers-${number}` | 'sync-changed' | 'upsert-new' | 'upsert-changed' | 'upsert-same' | 'mapping' | 'http' | `http-${string}` | `x-${string}`;

export interface BenchContext {
  srcUrl: string;
  dstUrl: string;
  /** rows in the source table */
  rows: number;
  sourceTable: string;
  batchSize: number;
  /** cap of the naive path */
  naiveRows: number;
  /** 'activity' (MockActivityEnvironment + createActivities) or 'direct' (PostgresSource + PostgresSink loop) */
  bareMode: 'activity' | 'direct';
  temporal?: { address: string; client: Client; taskQueue: string };
  repoRoot: string;
  /** extra environment for worker processes (--worker-env), e.g. NODE_OPTIONS, MALLOC_ARENA_MAX */
  workerEnv: Record<string, string>;
  /** digest of the source table, computed once (for checks) */
  sourceDigest: { count: number; hash: string };
  log(line: string): void;
}

export interface Measurement {
  /** timed section only: never seeding or target preparation */
  seconds: number;
  /** how the machine's cores spent the timed section (busy / idle / I/O wait; bench/lib/proc.ts cpuShares) */
  cpu?: string;
  rows: number;
  /** worker process: kernel peak (VmHWM, includes start-up and workflow bundling) */
  workerPeakRssMb?: number;
  /** worker process: highest VmRSS sampled while the workflow ran */
  workerRunMaxRssMb?: number;
  /** worker process: VmRSS when it reported ready, before the workflow */
  workerIdleRssMb?: number;
  /** worker process: VmHWM when it reported ready (the start-up peak: tsx, workflow bundling) */
  workerStartupPeakRssMb?: number;
  historyEvents?: number;
  /** what the worker said it runs with: workflow bundle, V8 heap limit and flags, MALLOC_ARENA_MAX */
  workerSettings?: string;
  /** `tidemark worker` starts the worker as its child with the memory settings: the launcher's own peak RSS */
  launcherPeakRssMb?: number;
  /** the prebundled worker reports process.memoryUsage(): maxima over the run, MiB */
  workerMemory?: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  /** the untimed warm-up workflow on the fresh worker (what a cold worker's first run pays extra, roughly) */
  warmupSeconds?: number;
  /** tidemark.runs finished_at - started_at: the activity's own time, without Temporal's scheduling */
  activitySeconds?: number;
  /** rows actually inserted or changed in the target (tidemark.runs.rows_written), when known */
  rowsWritten?: number;
  rowsRejected?: number;
  /** the instrumented loop's breakdown (prototype paths) */
  loop?: LoopResult;
}

export interface BenchPath {
  id: PathId;
  label: string;
  /** one line: what the path measures */
  describe: string;
  needsTemporal?: boolean;
  /** a bench-only prototype of a fast path (not tidemark's code), reported in its own table */
  prototype?: boolean;
  /** When set, the path is not run and this is printed instead of numbers. */
  unavailable?: () => string | undefined;
  rows(ctx: BenchContext): number;
  /** Untimed: fresh target, pre-fill. */
  prepare(ctx: BenchContext): Promise<void>;
  /** Times its own section and returns the measurement. */
  run(ctx: BenchContext, rep: number): Promise<Measurement>;
  /** Untimed: checks the target; returns a problem, or undefined when the result is right. */
  check(ctx: BenchContext, m: Measurement): Promise<string | undefined>;
}
