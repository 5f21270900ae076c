import { spawn } from 'node:child_process';
import { distBuild } from './dist-build';
import { childrenOf, RssSampler } from './proc';

const READY = /tidemark worker: \d+ integration/;

export interface BenchWorker {
  /** the worker process (the launcher's child) */
  pid: number;
  rss: RssSampler;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The default `tidemark worker` as it ships (compiled install, prebuilt bundle, launcher's heap flags), in its
 * own process, its memory sampled every second from the moment it is ready.
 */
export async function startBenchWorker(repoRoot: string, configFile: string, env: Record<string, string>, log: (s: string) => void): Promise<BenchWorker> {
  const build = await distBuild(repoRoot, log);
  const child = spawn(process.execPath, build.install(configFile), { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready after 180 s:\n${out}`)), 180_000);
    const onData = (chunk: Buffer) => {
      out = (out + chunk.toString('utf8')).slice(-20_000);
      if (READY.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`worker exited (${child.exitCode ?? child.signalCode}):\n${out}`)));
  });
  const [pid] = childrenOf(child.pid!);
  const rss = new RssSampler(pid ?? child.pid!, 1000).start();
  return {
    pid: pid ?? child.pid!,
    rss,
    output: () => out,
    async stop() {
      rss.stop();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
