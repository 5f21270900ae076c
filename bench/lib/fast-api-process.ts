import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface FastApiProcess {
  url: string;
  /** the server's process (its CPU is the API's share of the machine) */
  pid: number;
  stop(): Promise<void>;
}

/** bench/lib/fast-api.ts in its own process (as a remote API would be), ready when it prints its URL. */
export async function startFastApi(repoRoot: string, o: { records: number; seed: number; latencyMs: number }): Promise<FastApiProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'bench', 'lib', 'fast-api.ts'), '--records', String(o.records), '--seed', String(o.seed), '--latency', String(o.latencyMs)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fast-api not ready:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /fast-api at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fast-api exited (${code}):\n${out}`)));
  });
  return {
    url,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
