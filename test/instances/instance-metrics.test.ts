import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { addInstance, statusAll, type StatusLine } from '../../src/instances';
import { instanceGauges, InstanceMetrics, instanceMetricsFromEnv, parseMetricsAddress, renderGauges, serveInstanceMetrics, type RunningMetricsServer } from '../../src/metrics';
import { freePort, type RunningDevServer } from '../../src/dev';
import { runCli, startCli, waitExit } from '../helpers/cli';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';
import { seedOrders, sql } from '../helpers/fixtures';

// Per-instance gauges over HTTP, read from real state tables after real runs (the run activity on real PostgreSQL).
let src: TestDatabase;
let dst: TestDatabase;
let env: NodeJS.ProcessEnv;
let config: Config;
let server: RunningMetricsServer | undefined;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('met_src'), createTestDatabase('met_dst')]);
  await seedOrders(src.url, { rows: 120, table: 'public.orders_acme' });
  await seedOrders(src.url, { rows: 80, table: 'public.orders_globex' });
  await seedOrders(src.url, { rows: 30, table: 'public.orders' });
  env = { SRC_URL: src.url, DST_URL: dst.url };
  config = parseConfig({
    integrations: [
      {
        id: 'shop',
        template: true,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'tenant_${instance.id}.orders', key: ['id'], create: true },
      },
      {
        id: 'plain',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
      },
    ],
  });
});
afterAll(async () => {
  await server?.close();
  await Promise.all([src?.drop(), dst?.drop()]);
});

function run(integration: string, mode: RunInput['mode'], runKey: string): Promise<RunResult> {
  const activities = createActivities({ config: () => config, env });
  return new MockActivityEnvironment().run(activities.runIntegration, { integration, mode, runKey }) as Promise<RunResult>;
}

/** `name{labels} value` lines of one metric, keyed by the integration label. */
function samples(text: string, name: string): Map<string, { labels: Record<string, string>; value: number }> {
  const out = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[1] as string).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1] as string, x[2] as string]));
    out.set(labels.integration as string, { labels, value: Number(m[2]) });
  }
  return out;
}

describe('per-instance Prometheus gauges (TIDEMARK_INSTANCE_METRICS_ADDRESS)', () => {
  it('after runs, /metrics over HTTP says what status --all --json says, per integration and instance', async () => {
    await addInstance({ config, template: 'shop', instance: 'acme', env });
    await addInstance({ config, template: 'shop', instance: 'globex', env });
    expect(await run('shop/acme', 'backfill', 'wf/a1')).toMatchObject({ rows: 120, done: true });
    expect(await run('plain', 'backfill', 'wf/p1')).toMatchObject({ rows: 30, done: true });
    // A sync skipped after acme's backfill (another run was writing) did nothing: the backfill stays its last run
    // (an acceptance run read rows 0 here).
    await sql(dst.url, `INSERT INTO tidemark.runs (run_id, integration, kind, status, started_at, finished_at) VALUES ('wf/a-skipped', 'shop/acme', 'sync', 'skipped', now(), now())`);
    // globex fails twice after its run row exists: the target wants a column the source lacks (NOT NULL).
    await sql(dst.url, 'CREATE SCHEMA tenant_globex; CREATE TABLE tenant_globex.orders (id bigint PRIMARY KEY, required text NOT NULL)');
    for (const key of ['wf/g1', 'wf/g2']) await expect(run('shop/globex', 'backfill', key)).rejects.toThrow();

    server = await serveInstanceMetrics(new InstanceMetrics({ config, env }), parseMetricsAddress('127.0.0.1:0'));
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE tidemark_lag_seconds gauge');

    const lines: StatusLine[] = await statusAll(config, { env }); // what `status --all --json` prints (less next run)
    expect(lines.map((l) => l.id)).toEqual(['plain', 'shop/acme', 'shop/globex']);
    const rows = samples(text, 'tidemark_last_run_rows');
    const failures = samples(text, 'tidemark_consecutive_failures');
    const success = samples(text, 'tidemark_last_success_timestamp_seconds');
    const lag = samples(text, 'tidemark_lag_seconds');
    const state = samples(text, 'tidemark_state');
    for (const l of lines) {
      expect(rows.get(l.id)?.value, l.id).toBe(l.lastRows);
      expect(failures.get(l.id)?.value, l.id).toBe(l.consecutiveFailures);
      expect(state.get(l.id)?.labels.state, l.id).toBe(l.state);
      if (l.lastSuccess) expect(Math.abs(success.get(l.id)!.value * 1000 - Date.parse(l.lastSuccess.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')))).toBeLessThan(1);
      else expect(success.has(l.id)).toBe(false);
      // Lag is seconds since the cursor's time, so it moves with the clock between the two readings.
      if (l.lagSeconds !== null) expect(Math.abs(lag.get(l.id)!.value - l.lagSeconds)).toBeLessThanOrEqual(2);
    }
    expect(rows.get('shop/acme')).toEqual({ labels: { integration: 'shop/acme', template: 'shop', instance: 'acme' }, value: 120 });
    expect(rows.get('plain')).toEqual({ labels: { integration: 'plain', template: '', instance: '' }, value: 30 });
    expect(failures.get('shop/globex')!.value).toBe(2);
    expect(state.get('shop/globex')!.labels.state).toBe('failing');
    expect(success.has('shop/globex')).toBe(false);
    expect(success.get('shop/acme')!.value).toBeGreaterThan(Date.now() / 1000 - 120);
    // Caught up to the backfill's high-water mark moments ago: a few seconds at most (0 within the same second).
    expect(lag.get('shop/acme')!.value).toBeGreaterThanOrEqual(0);
    expect(lag.get('shop/acme')!.value).toBeLessThan(120);

    expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('one reading serves scrapes within the cache time, concurrent scrapes share it; a failed reading serves the last values', async () => {
    let reads = 0;
    let fail = false;
    const metrics = new InstanceMetrics({
      config,
      cacheMs: 60_000,
      read: async () => {
        reads++;
        if (fail) throw new Error('state database unreachable');
        return statusAll(config, { env });
      },
    });
    const [a, b] = await Promise.all([metrics.render(), metrics.render()]);
    expect(reads).toBe(1);
    expect(b).toBe(a);
    await metrics.render();
    expect(reads).toBe(1);
    const stale = new InstanceMetrics({ config, cacheMs: 0, read: async () => (fail ? Promise.reject(new Error('down')) : statusAll(config, { env })) });
    const first = await stale.render();
    fail = true;
    const second = await stale.render();
    expect(second).toContain('tidemark_metrics_read_errors_total 1');
    expect(second).toContain('# TYPE tidemark_metrics_read_errors_total counter');
    expect(samples(second, 'tidemark_last_run_rows')).toEqual(samples(first, 'tidemark_last_run_rows'));
  });

  it('the text format: HELP and TYPE once per metric, label values escaped, no sample for an unknown value', () => {
    const text = renderGauges([
      { name: 'g', help: 'a\\b', samples: [{ labels: { integration: 'a"b\\c\nd' }, value: 1.5 }, { labels: {}, value: NaN }] },
      ...instanceGauges([{ id: 'x', state: 'never-run', lastSuccess: null, lagSeconds: null, lastRows: 0, consecutiveFailures: 0, deadLetters: 0, nextRun: null }]),
    ]);
    expect(text.split('\n').slice(0, 4)).toEqual(['# HELP g a\\\\b', '# TYPE g gauge', 'g{integration="a\\"b\\\\c\\nd"} 1.5', 'g NaN']);
    expect(text).not.toMatch(/^tidemark_lag_seconds\{/m);
    expect(text).not.toMatch(/^tidemark_last_success_timestamp_seconds\{/m);
    expect(text).toContain('tidemark_state{integration="x",template="",instance="",state="never-run"} 1');
  });

  it('the address is checked and kept apart from the SDK exporter', async () => {
    expect(parseMetricsAddress(':9465')).toEqual({ host: '0.0.0.0', port: 9465 });
    expect(() => parseMetricsAddress('localhost')).toThrow(/TIDEMARK_INSTANCE_METRICS_ADDRESS=localhost: expected host:port/);
    await expect(instanceMetricsFromEnv(config, { ...env, TIDEMARK_INSTANCE_METRICS_ADDRESS: '127.0.0.1:9464', TIDEMARK_METRICS_ADDRESS: '0.0.0.0:9464' })).rejects.toThrow(/must differ from TIDEMARK_METRICS_ADDRESS/);
    expect(await instanceMetricsFromEnv(config, env)).toBeUndefined();
  });
});

describe('`tidemark worker` with TIDEMARK_INSTANCE_METRICS_ADDRESS (dev server, the CLI as a user runs it)', () => {
  let server: RunningDevServer;
  beforeAll(async () => {
    server = await devServerForTests();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves the gauges beside the runs; after a sync they match `status --all --json`', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tm-metrics-'));
    writeFileSync(
      join(cwd, 'tidemark.yaml'),
      'integrations:\n  - id: shop\n    template: true\n' +
        '    source: {kind: postgres, url: "${SRC_URL}", table: "public.orders_${instance.id}", cursor: [updated_at, id]}\n' +
        '    sink: {kind: postgres, url: "${DST_URL}", table: "tenant_${instance.id}.orders", key: [id], create: true}\n' +
        '  - id: plain\n    source: {kind: postgres, url: "${SRC_URL}", table: public.orders, cursor: [updated_at, id]}\n' +
        '    sink: {kind: postgres, url: "${DST_URL}", table: copy.orders, key: [id], create: true}\n    schedule: {every: 1h}\n',
    );
    const port = await freePort();
    const cliEnv = { ...env, TEMPORAL_ADDRESS: server.address, TIDEMARK_TASK_QUEUE: 'metrics-cli', TIDEMARK_INSTANCE_METRICS_ADDRESS: `127.0.0.1:${port}`, TIDEMARK_MAX_CONCURRENT_RUNS: '2' };
    const worker = await startCli(['worker'], cliEnv, /tidemark worker: \d+ integration/, cwd);
    try {
      expect(worker.output()).toContain(`tidemark worker: instance metrics on http://127.0.0.1:${port}/metrics`);
      expect(worker.output()).toMatch(/at most 2 activities/);
      await seedOrders(src.url, { rows: 40, table: 'public.orders_initech' });
      expect((await runCli(['instances', 'add', 'shop', 'initech'], cliEnv, cwd)).code).toBe(0);
      expect((await runCli(['sync', 'shop/initech', '--wait'], cliEnv, cwd)).code).toBe(0);
      // A paused schedule reads paused in the gauges too, as in `status --all` (an acceptance run: ok).
      expect((await runCli(['schedule', 'apply'], cliEnv, cwd)).code).toBe(0);
      expect((await runCli(['schedule', 'pause', 'plain'], cliEnv, cwd)).code).toBe(0);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const status = await runCli(['status', '--all', '--json'], cliEnv, cwd);
      expect(status.code).toBe(0);
      const lines = JSON.parse(status.stdout) as StatusLine[];
      expect(lines.map((l) => l.id)).toEqual(['plain', 'shop/acme', 'shop/globex', 'shop/initech']);
      const rows = samples(text, 'tidemark_last_run_rows');
      const failures = samples(text, 'tidemark_consecutive_failures');
      const state = samples(text, 'tidemark_state');
      for (const l of lines) {
        expect([l.id, rows.get(l.id)?.value, failures.get(l.id)?.value, state.get(l.id)?.labels.state]).toEqual([l.id, l.lastRows, l.consecutiveFailures, l.state]);
      }
      expect(rows.get('shop/initech')!.value).toBe(40);
      expect(state.get('plain')!.labels.state).toBe('paused');
    } finally {
      await runCli(['schedule', 'delete', 'plain'], cliEnv, cwd);
      worker.child.kill('SIGTERM');
      await waitExit(worker.child);
    }
    expect(worker.output()).toMatch(/tidemark worker: stopped/);
  });
});
