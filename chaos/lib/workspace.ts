import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaosContext } from './context';
import { runCli, WorkerProcess, type CliResult } from './processes';

/** Environment variables a scenario must not inherit from the shell that runs it. */
const INHERITED_NOT = ['TIDEMARK_ENCRYPTION_KEY', 'TEMPORAL_NAMESPACE', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TIDEMARK_MAX_ACTIVITIES', 'TIDEMARK_MAX_SOURCE_CONNECTIONS', 'TIDEMARK_METRICS_ADDRESS'];

/**
 * One scenario's working directory: its tidemark.json, the environment its CLI commands and worker
 * processes get (Temporal address, a task queue of its own, the ${NAME} values of its config), every
 * process it started (stopped by `close`) and everything they printed (searched by the secrets scenario).
 */
export class Workspace {
  readonly dir: string;
  readonly taskQueue: string;
  readonly env: NodeJS.ProcessEnv;
  readonly workers: WorkerProcess[] = [];
  readonly cliOutput: string[] = [];

  constructor(
    readonly ctx: ChaosContext,
    name: string,
    vars: Record<string, string>,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `tidemark-chaos-${name}-`));
    this.taskQueue = `chaos-${name}-${randomBytes(3).toString('hex')}`;
    const base: NodeJS.ProcessEnv = { ...process.env };
    for (const k of INHERITED_NOT) delete base[k];
    this.env = { ...base, TEMPORAL_ADDRESS: ctx.temporalAddress, TIDEMARK_TASK_QUEUE: this.taskQueue, ...vars };
  }

  /** Writes tidemark.json (the CLI and workers started here read it). */
  writeConfig(config: unknown, file = 'tidemark.json'): string {
    const path = join(this.dir, file);
    writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    return path;
  }

  async cli(...args: string[]): Promise<CliResult> {
    const r = await runCli(args, this.env, this.dir);
    this.cliOutput.push(`$ tidemark ${args.join(' ')}\n${r.stdout}${r.stderr}`);
    return r;
  }

  async startWorker(args: string[] = []): Promise<WorkerProcess> {
    const w = await WorkerProcess.start(this.env, this.dir, args);
    this.workers.push(w);
    return w;
  }

  /** Everything the workers and CLI commands of this workspace printed. */
  allOutput(): string {
    return [...this.workers.map((w) => w.output), ...this.cliOutput].join('\n');
  }

  /** Stops every worker still running (SIGTERM, then SIGKILL) and removes the directory. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate(15_000)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
