import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { INSTANCE_ATTRIBUTE, INTEGRATION_ATTRIBUTE, TEMPLATE_ATTRIBUTE } from '../instances/search-attributes';
import { pollUntil } from '../util/poll';
import { freePort, isPortFree, waitForPort } from './free-port';
import { ensureTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  /** gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted and `ui` is on. */
  uiPort?: number;
  /** The server's own Prometheus `/metrics` port; one the server picks at random when omitted. */
  metricsPort?: number;
  /** SQLite file that keeps workflows across restarts; in-memory when omitted. */
  dbFile?: string;
  /** Serve the Web UI. Default: on when `uiPort` is given. */
  ui?: boolean;
  /** A `temporal` binary to use instead of ensureTemporalCli() ('' means: resolve it). */
  cliPath?: string;
  /** Register tidemark's search attributes (TidemarkInstance…). Default true; false gives a server without them (tests). */
  searchAttributes?: boolean;
  /** Receives the server's own (warn-level) log output; kept only for error messages otherwise. */
  onLog?: (text: string) => void;
}

export interface RunningDevServer {
  /** host:port of the frontend gRPC service */
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
  /** Settles, with why, when the server ends without stop() (killed, crashed); never after stop(). */
  exited: Promise<string>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Runs `temporal server start-dev` and resolves once the `default` namespace answers. Without a
 * CLI (no Go to build one) it falls back to the SDK's own download via TestWorkflowEnvironment.
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<RunningDevServer> {
  const cli = opts.cliPath || (await ensureTemporalCli());
  const ui = opts.ui ?? opts.uiPort !== undefined;
  if (opts.dbFile) await fs.mkdir(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const uiPort = ui ? (opts.uiPort ?? (await freePort())) : undefined;
    // Otherwise we might wait on, and then hand out, some other server that holds the port. A port we picked
    // ourselves can be taken by another process before we use it (servers starting side by side): pick again.
    let taken = false;
    for (const [p, what, given] of [[port, 'gRPC', opts.port], [uiPort, 'Web UI', opts.uiPort]] as const) {
      if (p !== undefined && !(await isPortFree(p, HOST))) {
        if (given === undefined && attempt < 5) taken = true;
        else throw new Error(`Cannot start the Temporal dev server: ${what} port ${p} is already in use; pick another port`);
      }
    }
    if (taken) continue;
    if (!cli) return startWithSdkDownload(port, uiPort, opts.dbFile, opts.searchAttributes !== false);
    try {
      return await launch(cli, port, uiPort, opts);
    } catch (err) {
      // The server also picks internal ports itself; losing such a race to another process
      // kills it during start-up, and a fresh start fixes that.
      if (!(err instanceof ServerExited) || attempt >= 3) throw err;
    }
  }
}

class ServerExited extends Error {}

const SEARCH_ATTRIBUTES = [INTEGRATION_ATTRIBUTE, TEMPLATE_ATTRIBUTE, INSTANCE_ATTRIBUTE];

async function launch(cli: string, port: number, uiPort: number | undefined, opts: DevServerOptions): Promise<RunningDevServer> {
  const args = ['server', 'start-dev', '--ip', HOST, '--port', String(port)];
  args.push(...(uiPort !== undefined ? ['--ui-port', String(uiPort)] : ['--headless']));
  if (opts.metricsPort !== undefined) args.push('--metrics-port', String(opts.metricsPort));
  if (opts.dbFile) args.push('--db-filename', path.resolve(opts.dbFile));
  args.push('--log-level', 'warn');
  // Task-queue fairness (server 1.29+): run activities carry their integration or instance as fairness key
  // (src/workflows/activity-options.ts), so one customer's backlog of tasks does not hold back the others'.
  args.push('--dynamic-config-value', 'matching.enableFairness=true');
  // Registered at start, so workflows carry them and the Web UI filters by instance (`TidemarkInstance = "acme"`).
  if (opts.searchAttributes !== false) for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);

  // Own process group, so a terminal's Ctrl-C reaches only us and we stop it in order.
  const child = spawn(cli, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let output = '';
  let exitError: Error | undefined;
  let stopRequested = false;
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    // Keep the start (a Go panic's reason) and the end of what the server said, for errors.
    const all = output + text;
    output = all.length <= 6000 ? all : `${all.slice(0, 3000)}\n…\n${all.slice(-3000)}`;
    // Shutting down makes the server log connection errors of its own system workers: noise.
    if (!stopRequested) opts.onLog?.(text);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      exitError = new Error(`could not run ${cli}: ${err.message}`);
      resolve();
    });
    child.on('close', (code, signal) => {
      exitError ??= new ServerExited(`temporal server start-dev exited (${signal ?? `exit ${code}`}):\n${output.trim()}`);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      stopRequested = true;
      if (!exitError) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    })());

  const address = `${HOST}:${port}`;
  try {
    await waitForPort(port, { host: HOST, timeoutMs: READY_TIMEOUT_MS, what: 'Temporal dev server', failed: () => exitError });
    await waitForDefaultNamespace(address, () => exitError);
  } catch (err) {
    await stop();
    throw err;
  }
  const unexpected = exited.then(() => (stopRequested ? new Promise<string>(() => undefined) : `the Temporal dev server exited (${child.signalCode ?? `exit ${child.exitCode}`})`));
  return { address, uiUrl: uiPort !== undefined ? `http://${HOST}:${uiPort}` : undefined, stop, exited: unexpected };
}

/** The frontend listens before the namespace exists; workers need the namespace. */
async function waitForDefaultNamespace(address: string, failed: () => Error | undefined): Promise<void> {
  let connection: Connection | undefined;
  let last: unknown;
  const timedOut = () => new Error(`Temporal dev server at ${address} has no usable 'default' namespace: ${(last as Error).message}`, { cause: last });
  try {
    await pollUntil(async () => {
      const err = failed();
      if (err) throw err;
      try {
        connection ??= await Connection.connect({ address, connectTimeout: '5s' });
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return true;
      } catch (e) {
        last = e;
        return undefined;
      }
    }, { intervalMs: 200, timeoutMs: READY_TIMEOUT_MS, timedOut });
  } finally {
    await connection?.close();
  }
}

async function startWithSdkDownload(port: number, uiPort: number | undefined, dbFile: string | undefined, searchAttributes: boolean): Promise<RunningDevServer> {
  // Loaded only on this path (no Temporal CLI).
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: HOST,
      port,
      ui: uiPort !== undefined,
      uiPort,
      dbFilename: dbFile ? path.resolve(dbFile) : undefined,
      searchAttributes: searchAttributes ? SEARCH_ATTRIBUTES : [],
    },
  });
  let stopping: Promise<void> | undefined;
  return {
    address: env.address,
    uiUrl: uiPort !== undefined ? `http://${HOST}:${uiPort}` : undefined,
    stop: () => (stopping ??= env.teardown()),
    // The SDK's server process is its own: its death is not watched here.
    exited: new Promise<string>(() => undefined),
  };
}

function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // If our process exits without stop(), don't leave servers behind (their group is detached).
    process.on('exit', () => {
      for (const c of children) killGroup(c, 'SIGTERM');
    });
  }
  children.add(child);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}
