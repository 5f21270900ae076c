/**
 * The delivery fake in its own process, as a remote API would be (the bench: its CPU must not share the
 * sink's event loop). Run as a script it serves until stdin closes, printing `delivery-fake at URL`, and
 * answers each `stats` line on stdin with one JSON line. argv: --latency MS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startDeliveryFake } from './delivery-fake';

export interface DeliveryFakeStats {
  requests: number;
  applied: number;
  stored: number;
  maxInFlight: number;
}

export interface DeliveryFakeProcess {
  url: string;
  stats(): Promise<DeliveryFakeStats>;
  stop(): Promise<void>;
}

export async function startDeliveryFakeProcess(o: { latencyMs: number }): Promise<DeliveryFakeProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', __filename, '--latency', String(o.latencyMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ready = await Promise.race([
    next(),
    new Promise<string>((_, reject) => child.once('exit', (code) => reject(new Error(`delivery fake exited (${code}): ${err}`)))),
  ]);
  const url = /delivery-fake at (\S+)/.exec(ready)?.[1];
  if (!url) throw new Error(`delivery fake: unexpected first line ${ready}`);
  return {
    url,
    async stats() {
      const line = next();
      child.stdin!.write('stats\n');
      return JSON.parse(await line) as DeliveryFakeStats;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin!.end();
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--latency');
  const fake = await startDeliveryFake({ latencyMs: i >= 0 ? Number(process.argv[i + 1]) : 0 });
  console.log(`delivery-fake at ${fake.url}`);
  const input = createInterface({ input: process.stdin });
  input.on('line', () => {
    const applied = [...fake.applied.values()].reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({ requests: fake.log.length, applied, stored: fake.store.size, maxInFlight: fake.maxInFlight } satisfies DeliveryFakeStats));
  });
  input.on('close', () => void fake.close().then(() => process.exit(0)));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
