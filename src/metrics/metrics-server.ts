import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Config } from '../config/schema';
import type { Client } from '@temporalio/client';
import { addNextRuns, statusAll, type StatusLine } from '../instances/status-all';
import { instanceGauges } from './instance-gauges';
import { withDeadline } from '../util/with-deadline';
import { PROMETHEUS_CONTENT_TYPE, renderGauges, type Gauge } from './prometheus-text';

/** `host:port` (or `:port`, all interfaces) of TIDEMARK_INSTANCE_METRICS_ADDRESS. */
const ADDRESS = z.string().regex(/^([^:\s]*|\[[0-9a-fA-F:]+\]):\d{1,5}$/);

export class MetricsAddressError extends Error {
  constructor(readonly variable: string, readonly value: string) {
    super(`${variable}=${value}: expected host:port (e.g. 0.0.0.0:9465 or 127.0.0.1:9465); it must differ from TIDEMARK_METRICS_ADDRESS, which the SDK's runtime metrics use`);
    this.name = 'MetricsAddressError';
  }
}

export function parseMetricsAddress(value: string, variable = 'TIDEMARK_INSTANCE_METRICS_ADDRESS'): { host: string; port: number } {
  if (!ADDRESS.safeParse(value).success) throw new MetricsAddressError(variable, value);
  const i = value.lastIndexOf(':');
  const port = Number(value.slice(i + 1));
  if (port > 65535) throw new MetricsAddressError(variable, value);
  return { host: value.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

export interface InstanceMetricsOptions {
  config: Config;
  env?: NodeJS.ProcessEnv;
  /** How long one reading of the state databases serves scrapes (ms); default 10 s. */
  cacheMs?: number;
  /** Stands in for statusAll (tests of the cache). */
  read?: () => Promise<StatusLine[]>;
  /** Temporal, for the schedules: a paused schedule reads `paused`, as in `status --all` (without it: `ok`). */
  client?: () => Promise<Client>;
}

/**
 * Per-instance gauges read from the state databases on scrape. One reading (one query per state database)
 * serves every scrape within `cacheMs`, and concurrent scrapes share the reading in flight; it runs on its
 * own connections, so a slow or failing scrape never holds up a run. A failed reading serves the previous
 * values with tidemark_metrics_read_errors_total counting the failure.
 */
export class InstanceMetrics {
  private last: { at: number; lines: StatusLine[] } | undefined;
  private inFlight: Promise<StatusLine[]> | undefined;
  private errors = 0;
  private readSeconds = 0;

  constructor(private readonly opts: InstanceMetricsOptions) {}

  private async lines(): Promise<StatusLine[]> {
    const ttl = this.opts.cacheMs ?? 10_000;
    if (this.last && Date.now() - this.last.at < ttl) return this.last.lines;
    this.inFlight ??= (async () => {
      const t0 = performance.now();
      try {
        const lines = await (this.opts.read ?? (() => statusAll(this.opts.config, { env: this.opts.env ?? process.env })))();
        // The schedules' states: Temporal unreachable counts as a failed reading, the states of the database stand.
        const client = this.opts.client;
        // Bounded: Temporal gone after the first connect must not hold every scrape (the review).
        if (client) await withDeadline(client().then((c) => addNextRuns(c, lines)), SCHEDULES_MS).catch(() => void this.errors++);
        this.last = { at: Date.now(), lines };
        return lines;
      } catch (err) {
        this.errors++;
        if (!this.last) throw err;
        return this.last.lines;
      } finally {
        this.readSeconds = (performance.now() - t0) / 1000;
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  async render(): Promise<string> {
    const lines = await this.lines();
    const own: Gauge[] = [
      { name: 'tidemark_metrics_read_seconds', help: 'Time the last reading of the state databases took.', samples: [{ labels: {}, value: this.readSeconds }] },
      { name: 'tidemark_metrics_read_errors_total', type: 'counter', help: 'Readings that failed: of the state databases (the previous values were served), or of the schedules in Temporal (their states were left out).', samples: [{ labels: {}, value: this.errors }] },
    ];
    return renderGauges([...instanceGauges(lines), ...own]);
  }
}

/** How long a reading waits for Temporal's schedules (paused states) before it goes on without them. */
const SCHEDULES_MS = 5_000;

export interface RunningMetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` on `address`. */
export async function serveInstanceMetrics(metrics: InstanceMetrics, address: { host: string; port: number }): Promise<RunningMetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('tidemark instance metrics: GET /metrics\n');
      return;
    }
    metrics.render().then(
      (body) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(body),
      (err: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`tidemark: reading the state databases failed: ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The worker's per-instance metrics when TIDEMARK_INSTANCE_METRICS_ADDRESS is set (undefined otherwise). A
 * port of its own: TIDEMARK_METRICS_ADDRESS belongs to the SDK's Prometheus exporter (runtime metrics).
 */
export async function instanceMetricsFromEnv(config: Config, env: NodeJS.ProcessEnv = process.env, client?: () => Promise<Client>): Promise<RunningMetricsServer | undefined> {
  const value = env.TIDEMARK_INSTANCE_METRICS_ADDRESS;
  if (!value) return undefined;
  const address = parseMetricsAddress(value);
  const sdk = env.TIDEMARK_METRICS_ADDRESS ? parseMetricsAddress(env.TIDEMARK_METRICS_ADDRESS, 'TIDEMARK_METRICS_ADDRESS') : undefined;
  if (sdk && sdk.port === address.port) throw new MetricsAddressError('TIDEMARK_INSTANCE_METRICS_ADDRESS', value);
  return serveInstanceMetrics(new InstanceMetrics({ config, env, ...(client ? { client } : {}) }), address);
}
