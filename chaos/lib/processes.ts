import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** bin/tidemark.js: the CLI exactly as users run it (TypeScript sources through tsx in a checkout). */
export const TIDEMARK_BIN = join(__dirname, '..', '..', 'bin', 'tidemark.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tidemark …` in its own process to the end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TIDEMARK_BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const READY = /tidemark worker: \d+ integration/;

/** A `tidemark worker` process: started, waited for, killed (SIGKILL) or stopped (SIGTERM). */
export class WorkerProcess {
  private out = '';
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    const keep = (d: Buffer) => (this.out += d.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Starts `tidemark worker [args]` and resolves once it says it is polling. */
  static async start(env: NodeJS.ProcessEnv, cwd: string, args: string[] = []): Promise<WorkerProcess> {
    const w = new WorkerProcess(spawn(process.execPath, [TIDEMARK_BIN, 'worker', ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
    const deadline = Date.now() + 120_000;
    while (!READY.test(w.out)) {
      if (w.child.exitCode !== null || w.child.signalCode !== null) throw new Error(`tidemark worker exited before it was ready:\n${w.out}`);
      if (Date.now() > deadline) {
        w.child.kill('SIGKILL');
        throw new Error(`tidemark worker not ready after 120 s:\n${w.out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return w;
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get exitCode(): number | null {
    return this.child.exitCode;
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the exit (the worker stops at a page boundary). */
  async terminate(timeoutMs = 60_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  waitExit(): Promise<void> {
    return this.exited;
  }
}
