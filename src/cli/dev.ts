import { InvalidArgumentError, type Command } from 'commander';
import { lazy } from './lazy';

interface DevOptions {
  dataDir: string;
  temporalPort: number;
  uiPort?: number;
  metricsPort?: number;
  pgPort: number;
}

/** `tidemark dev`: Temporal dev server (with UI) + PostgreSQL in the foreground until Ctrl-C. */
export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run a local Temporal dev server and PostgreSQL in the foreground; Ctrl-C stops both')
    .option('--data-dir <dir>', 'keep Temporal and PostgreSQL data here across runs', '.tidemark/dev')
    .option('--temporal-port <port>', 'Temporal gRPC port', parsePort, 7233)
    .option('--ui-port <port>', 'Temporal Web UI port (default: Temporal port + 1000)', parsePort)
    .option('--pg-port <port>', 'PostgreSQL port (unused when DATABASE_URL is set)', parsePort, 5432)
    .option('--metrics-port <port>', "the Temporal server's own Prometheus /metrics port (default: one it picks at random)", parsePort)
    .action((opts: DevOptions, cmd: Command) => runDev(opts, cmd.getOptionValueSource('dataDir') === 'default'));
}

async function runDev(opts: DevOptions, defaultDataDir: boolean): Promise<void> {
  const path = await lazy('node:path');
  const { isPortFree } = await lazy('../dev/free-port');
  const { defaultDevPgDataDir } = await lazy('../dev/dev-data-dir');
  const { startStack } = await lazy('../dev/stack');
  const uiPort = opts.uiPort ?? opts.temporalPort + 1000;
  const ports: [number, string, string][] = [
    [opts.temporalPort, 'Temporal gRPC', '--temporal-port'],
    [uiPort, 'Temporal Web UI', '--ui-port'],
  ];
  if (!process.env.DATABASE_URL) ports.push([opts.pgPort, 'PostgreSQL', '--pg-port']);
  if (opts.metricsPort !== undefined) ports.push([opts.metricsPort, 'Temporal metrics', '--metrics-port']);
  for (const [port, what, flag] of ports) {
    if (!(await isPortFree(port))) {
      throw new Error(`Port ${port} (${what}) is already in use: pass ${flag} <port> to use another one`);
    }
  }

  // Listen before starting, so a Ctrl-C during start-up still stops whatever did start.
  let requestStop = (): void => undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  let signals = 0;
  let firstAt = 0;
  const onSignal = (): void => {
    // One stop can arrive twice within a moment: a SIGTERM to the process group (systemd) reaches tidemark, and npx's
    // exit is taken as another (bin/tidemark.js), an acceptance run saw "second signal" so. A second one later forces.
    if (signals > 0 && Date.now() - firstAt < 1_000) return;
    if (signals === 0) firstAt = Date.now();
    if (++signals > 1) {
      process.stderr.write('tidemark: second signal, exiting without a clean stop\n');
      process.exit(1);
    }
    requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Only the default data dir moves when root's PostgreSQL can't reach it (a private clone).
    const pgDataDir = defaultDataDir && !process.env.DATABASE_URL ? await defaultDevPgDataDir(opts.dataDir) : undefined;
    const stack = await startStack({
      dataDir: path.resolve(opts.dataDir),
      ...(pgDataDir ? { pgDataDir } : {}),
      temporalPort: opts.temporalPort,
      uiPort,
      ...(opts.metricsPort !== undefined ? { temporalMetricsPort: opts.metricsPort } : {}),
      pgPort: opts.pgPort,
      ui: true,
      onLog: (text) => process.stderr.write(text),
    });
    if (signals === 0) {
      const lines = [`TEMPORAL_ADDRESS=${stack.temporalAddress}`, `DATABASE_URL=${stack.databaseUrl}`];
      if (stack.uiUrl) lines.push(`TEMPORAL_UI=${stack.uiUrl}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      if (process.env.DATABASE_URL) process.stderr.write('tidemark: PostgreSQL is the server at DATABASE_URL (it answers); none was started\n');
      process.stderr.write(`tidemark: dev stack running, data in ${opts.dataDir}${pgDataDir && !pgDataDir.startsWith(path.resolve(opts.dataDir)) ? ` (PostgreSQL in ${pgDataDir}: the 'postgres' user cannot enter ${opts.dataDir})` : ''} (Ctrl-C to stop)\n`);
    }
    // A server that dies leaves the stack half there: said, the rest stopped, a failure exit (not a silent 0).
    const died = await Promise.race([stopRequested.then(() => undefined), stack.exited]);
    process.stderr.write(died ? `tidemark: ${died}; stopping the rest\n` : 'tidemark: stopping…\n');
    await stack.stop();
    if (died) process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError('expected a port number between 1 and 65535');
  }
  return port;
}
