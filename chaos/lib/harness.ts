import type { Client } from '@temporalio/client';
import { workflowIdFor } from '../../src/client';
import { describeComparison, type Comparison } from './compare';
import type { ChaosContext } from './context';
import { createDatabase, type ChaosDatabase } from './databases';
import { Findings, type ScenarioResult } from './report';
import { StateWatch } from './state-watch';
import { reprocessedRows, runsOf, type RunRow } from './runs';
import { outcome, temporalClient, type Outcome } from './temporal';
import { Workspace } from './workspace';

/** What a scenario body works with; everything here is cleaned up by runScenario. */
export interface Harness {
  ctx: ChaosContext;
  f: Findings;
  ws: Workspace;
  client: Client;
  /** source and target databases on the context's PostgreSQL */
  src: ChaosDatabase;
  dst: ChaosDatabase;
  /** tidemark's state in the target database, polled over one connection */
  watch: StateWatch;
  log(message: string): void;
}

export interface HarnessOptions {
  /** extra environment for the workspace's processes (the ${NAME} values besides SRC_URL / DST_URL) */
  vars?: Record<string, string>;
  /** environment of the Temporal client (TIDEMARK_ENCRYPTION_KEY) */
  clientEnv?: NodeJS.ProcessEnv;
  /** source and target somewhere else than fresh databases on ctx.adminUrl; `close` runs at the end */
  databases?: () => Promise<{ src: ChaosDatabase; dst: ChaosDatabase; close(): Promise<void> }>;
}

/**
 * Runs a scenario body with fresh databases, a workspace and a Temporal client, and turns what it
 * found (or the error that stopped it) into a ScenarioResult. Always cleans up.
 */
export async function runScenario(ctx: ChaosContext, name: string, body: (h: Harness) => Promise<void>, opts: HarnessOptions = {}): Promise<ScenarioResult> {
  const f = new Findings(name);
  const log = (m: string) => ctx.log(`[${name}] ${m}`);
  const cleanup: Array<() => Promise<void>> = [];
  let ws: Workspace | undefined;
  let client: Client | undefined;
  let watch: StateWatch | undefined;
  try {
    let src: ChaosDatabase;
    let dst: ChaosDatabase;
    if (opts.databases) {
      const own = await opts.databases();
      cleanup.push(() => own.close());
      ({ src, dst } = own);
    } else {
      [src, dst] = await Promise.all([createDatabase(ctx.adminUrl, `${name}_src`), createDatabase(ctx.adminUrl, `${name}_dst`)]);
      cleanup.push(() => src.drop(), () => dst.drop());
    }
    ws = new Workspace(ctx, name, { SRC_URL: src.url, DST_URL: dst.url, ...opts.vars });
    client = await temporalClient(ctx.temporalAddress, opts.clientEnv ?? {});
    watch = new StateWatch(dst.url);
    await body({ ctx, f, ws, client, src, dst, watch, log });
  } catch (err) {
    f.check(false, `stopped by an error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await ws?.close().catch(() => undefined);
    await watch?.close();
    await client?.connection.close().catch(() => undefined);
    for (const c of cleanup) await c().catch(() => undefined);
  }
  const r = f.result();
  for (const d of r.details) log(d);
  return r;
}

/** Adds a comparison's lost / duplicated counts and says what it found. */
export function recordComparison(f: Findings, what: string, c: Comparison): void {
  f.add({ lost: c.lost, duplicated: c.duplicated });
  f.detail(describeComparison(what, c));
  f.check(c.identical, `${what}: target differs from source`);
}

/** The manual run of an integration (workflow tidemark-<id>) to its end; a failure is recorded. */
export async function finished(h: Harness, integration: string, timeoutMs?: number): Promise<Outcome> {
  const o = await outcome(h.client, workflowIdFor(integration), timeoutMs);
  h.f.check(o.ok, `${integration}: the run failed: ${o.ok ? '' : o.error}`);
  return o;
}

/**
 * The run rows of an integration: adds their reprocessed rows and runs, checks rows written
 * (`expectedWritten` = rows that had to be written: more means a row was written twice).
 */
export async function recordRuns(h: Harness, integration: string, expectedWritten?: number): Promise<RunRow[]> {
  const runs = await runsOf(h.dst.url, integration);
  const reprocessed = reprocessedRows(runs);
  h.f.add({ reprocessed, runs: runs.length });
  if (expectedWritten !== undefined) {
    const written = runs.reduce((s, r) => s + r.rowsWritten, 0);
    if (written > expectedWritten) h.f.add({ duplicated: written - expectedWritten });
    h.f.check(written === expectedWritten, `${integration}: rows_written ${written}, expected ${expectedWritten}`);
  }
  if (runs.length <= 3) {
    h.f.detail(`${integration}: ${runs.map((r) => `${r.kind} ${r.status}, ${r.attempts} attempt(s), read ${r.rowsRead}, committed ${r.rowsCommitted}, written ${r.rowsWritten}`).join('; ')}`);
  } else {
    const sum = (k: 'rowsRead' | 'rowsCommitted' | 'rowsWritten') => runs.reduce((s, r) => s + r[k], 0);
    const statuses = [...new Set(runs.map((r) => `${r.kind} ${r.status}`))].map((k) => `${runs.filter((r) => `${r.kind} ${r.status}` === k).length} ${k}`);
    h.f.detail(`${integration}: ${runs.length} runs (${statuses.join(', ')}), read ${sum('rowsRead')}, committed ${sum('rowsCommitted')}, written ${sum('rowsWritten')}`);
  }
  return runs;
}
