import type { LoopResult, PhaseTime } from './lib/loop-copy';
import type { MachineInfo } from './lib/machine';
import type { SeedInfo } from './lib/seed';
import type { Measurement, PathId } from './paths/types';

export interface PathResult {
  id: PathId;
  label: string;
  describe: string;
  prototype: boolean;
  /** 'ok', or why there are no numbers ('n/a (not implemented yet)', 'error: …') */
  status: string;
  rows: number;
  runs: Measurement[];
  medianSeconds?: number;
  rowsPerSec?: number;
  ratioToLimit?: number;
  /** the run whose time is the median (its extra figures are the ones reported) */
  median?: Measurement;
  /** worst over the runs */
  workerPeakRssMb?: number;
  workerRunMaxRssMb?: number;
  workerIdleRssMb?: number;
  historyEvents?: number;
  problems: string[];
}

export interface Goal {
  goal: string;
  target: string;
  measured: string;
  status: 'PASS' | 'MISS' | 'n/a';
}

export interface ScalingPoint {
  path: PathId;
  label: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  workerPeakRssMb?: number;
  workerRunMaxRssMb?: number;
  historyEvents?: number;
}

/** The same paths on a cluster of another durability, run beside the main one (see bench/lib/settings.ts). */
export interface BesideReport {
  durability: string;
  postgresSettings: Record<string, string>;
  loadAverage: number[];
  paths: Pick<PathResult, 'id' | 'status' | 'medianSeconds' | 'rowsPerSec' | 'ratioToLimit'>[];
}

export interface BenchReport {
  machine: MachineInfo;
  /** the cluster the main table ran on: 'durable', 'throwaway' or 'as configured' (DATABASE_URL) */
  durability?: string;
  beside?: BesideReport[];
  /** load average when the runs ended (the machine is shared) */
  loadAverageAtEnd?: number[];
  params: { rows: number; runs: number; batchSize: number; naiveRows: number; bareMode: string; paths: string[]; workerEnv: Record<string, string> };
  seed: SeedInfo;
  paths: PathResult[];
  goals: Goal[];
  /** phase breakdown of the instrumented loop (median x-loop run) */
  profile?: LoopResult;
  scaling?: ScalingPoint[];
  notes: string[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Fills in medians and ratios once every run is in. */
export function summarise(results: PathResult[]): void {
  for (const r of results) {
    if (r.status !== 'ok' || !r.runs.length) continue;
    const secs = r.runs.map((m) => m.seconds);
    r.medianSeconds = median(secs);
    // The run closest to the median supplies the per-run extras (history, activity time, loop profile).
    r.median = [...r.runs].sort((a, b) => Math.abs(a.seconds - r.medianSeconds!) - Math.abs(b.seconds - r.medianSeconds!))[0];
    r.rowsPerSec = r.rows / r.medianSeconds;
    const peaks = r.runs.map((m) => m.workerPeakRssMb).filter((x): x is number => x !== undefined);
    if (peaks.length) r.workerPeakRssMb = Math.max(...peaks);
    const runMax = r.runs.map((m) => m.workerRunMaxRssMb).filter((x): x is number => x !== undefined);
    if (runMax.length) r.workerRunMaxRssMb = Math.max(...runMax);
    const idle = r.runs.map((m) => m.workerIdleRssMb).filter((x): x is number => x !== undefined);
    if (idle.length) r.workerIdleRssMb = Math.max(...idle);
    const events = r.runs.map((m) => m.historyEvents).filter((x): x is number => x !== undefined);
    if (events.length) r.historyEvents = Math.max(...events);
  }
  const limit = results.find((r) => r.id === 'limit')?.rowsPerSec;
  for (const r of results) if (limit && r.rowsPerSec) r.ratioToLimit = r.rowsPerSec / limit;
}

export function evaluateGoals(results: PathResult[], scaling: ScalingPoint[] | undefined, rows: number): Goal[] {
  const rps = (id: PathId) => results.find((r) => r.id === id && r.status === 'ok')?.rowsPerSec;
  const ratioGoal = (goal: string, num: number | undefined, den: number | undefined, min: number, target: string, unit = ''): Goal => {
    if (num === undefined || den === undefined) return { goal, target, measured: 'n/a (path not run)', status: 'n/a' };
    const x = num / den;
    return { goal, target, measured: `${x.toFixed(unit === '×' ? 1 : 2)}${unit}`, status: x >= min ? 'PASS' : 'MISS' };
  };
  // Issue #16's goals (measured on the durable cluster by default).
  const goals = [
    ratioGoal('backfill into an empty target (through Temporal) vs limit', rps('tidemark'), rps('limit'), 0.8, '≥ 0.80'),
    ratioGoal('tidemark vs bare loop', rps('tidemark'), rps('bare'), 0.95, '≥ 0.95'),
    ratioGoal('upsert, all rows new vs limit', rps('upsert-new'), rps('limit'), 0.45, '≥ 0.45'),
    ratioGoal('upsert, all rows changed vs limit', rps('upsert-changed'), rps('limit'), 0.4, '≥ 0.40'),
    ratioGoal('upsert, no rows changed vs all new', rps('upsert-same'), rps('upsert-new'), 1.3, '≥ 1.3×', '×'),
    ratioGoal('mapping + validation vs limit', rps('mapping'), rps('limit'), 0.4, '≥ 0.40'),
    ratioGoal('4 shards vs 1 shard (one worker process)', rps('tidemark-shards-4'), rps('tidemark'), 1.0, '≥ 1.0×', '×'),
    ratioGoal('4 shards on 2 worker processes vs 1 shard', rps('tidemark-shards-4-workers-2'), rps('tidemark'), 1.0, '≥ 1.0×', '×'),
    ratioGoal('tidemark vs naive', rps('tidemark'), rps('naive'), 20, '≥ 20×', '×'),
    syncGoal(results),
  ];
  // Worker memory: at 5M rows when measured there (main run or --scaling), else the largest size measured.
  const points: { rows: number; peak: number; runMax?: number }[] = [];
  const main = results.find((r) => r.id === 'tidemark' && r.workerPeakRssMb !== undefined);
  if (main) points.push({ rows, peak: main.workerPeakRssMb!, runMax: main.workerRunMaxRssMb });
  for (const p of scaling ?? []) if (p.path === 'tidemark' && p.workerPeakRssMb !== undefined) points.push({ rows: p.rows, peak: p.workerPeakRssMb, runMax: p.workerRunMaxRssMb });
  // The other worker forms, for comparison in the same line: the largest run of each.
  const forms: [PathId, string][] = [
    ['x-tidemark-dist-prebundled', 'compiled + prebuilt bundle, node defaults'],
    ['x-tidemark-dist-prebundled-tuned', 'compiled + prebuilt bundle + tuned heap'],
  ];
  const alts = forms
    .map(([id, name]) => {
      const best = [...(scaling ?? []).filter((p) => p.path === id), ...results.filter((r) => r.id === id && r.workerPeakRssMb !== undefined).map((r) => ({ rows: r.rows, workerPeakRssMb: r.workerPeakRssMb }))]
        .filter((p) => p.workerPeakRssMb !== undefined)
        .sort((a, b) => b.rows - a.rows)[0];
      return best ? `${name}: ${mb(best.workerPeakRssMb)} at ${fmtInt(best.rows)} rows` : undefined;
    })
    .filter(Boolean);
  const altText = alts.length ? `; ${alts.join('; ')}` : '';
  const at5m = points.filter((p) => p.rows >= 5_000_000).sort((a, b) => b.peak - a.peak)[0];
  const largest = [...points].sort((a, b) => b.rows - a.rows || b.peak - a.peak)[0];
  const goal = 'worker peak RSS at 5M rows';
  if (at5m) {
    goals.push({ goal, target: '≤ 200 MB', measured: `${mb(at5m.peak)} (VmHWM of the default worker, bin/tidemark.js worker${altText})`, status: at5m.peak <= 200 ? 'PASS' : 'MISS' });
  } else if (largest) {
    goals.push({
      goal,
      target: '≤ 200 MB',
      measured: `not run at 5M; ${mb(largest.peak)} at ${fmtInt(largest.rows)} rows (VmHWM of the default worker, bin/tidemark.js worker${altText})`,
      status: 'n/a',
    });
  } else {
    goals.push({ goal, target: '≤ 200 MB', measured: 'n/a (tidemark path not run)', status: 'n/a' });
  }
  return goals;
}

/** A sync of 0.1 % changed rows vs the backfill of the whole table, both through the bare loop (else the backfill through Temporal). */
function syncGoal(results: PathResult[]): Goal {
  const goal = 'sync of 0.1 % changed rows vs the backfill';
  const secs = (id: PathId) => results.find((r) => r.id === id && r.status === 'ok')?.medianSeconds;
  const sync = secs('sync-changed');
  const [by, full] = secs('bare') !== undefined ? ['bare loop', secs('bare')] : ['tidemark', secs('tidemark')];
  if (sync === undefined || full === undefined) return { goal, target: '< 1 % of its time', measured: 'n/a (path not run)', status: 'n/a' };
  const share = sync / full;
  return { goal, target: '< 1 % of its time', measured: `${(share * 100).toFixed(2)} % (${sync.toFixed(2)} s vs ${full.toFixed(1)} s, ${by})`, status: share < 0.01 ? 'PASS' : 'MISS' };
}

// ---------- formatting ----------

export function fmtInt(n: number | undefined): string {
  return n === undefined ? '' : Math.round(n).toLocaleString('en-US');
}

function mb(x: number | undefined): string {
  return x === undefined ? '?' : `${Math.round(x)} MB`;
}

function table(head: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

function rssText(r: PathResult): string {
  return r.workerPeakRssMb !== undefined ? `${mb(r.workerPeakRssMb)} (ready ${mb(r.workerIdleRssMb)}, run max ${mb(r.workerRunMaxRssMb)})` : '';
}

function pathRow(r: PathResult): string[] {
  if (r.status !== 'ok') return [r.label, r.rows ? fmtInt(r.rows) : '', r.status, '', '', '', '', ''];
  const rss = rssText(r);
  return [
    r.label,
    fmtInt(r.rows),
    r.medianSeconds!.toFixed(2),
    fmtInt(r.rowsPerSec),
    r.ratioToLimit !== undefined ? r.ratioToLimit.toFixed(2) : '',
    rss,
    r.historyEvents !== undefined ? String(r.historyEvents) : '',
    r.runs.map((m) => m.seconds.toFixed(2)).join(' / '),
  ];
}

const HEAD = ['path', 'rows', 'median s', 'rows/s', 'ratio to limit', 'worker peak RSS', 'history events', 'runs (s)'];
const ALIGN: ('l' | 'r')[] = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];

/** The main table; with `beside`, each other cluster's rows/s and ratio in two more columns. */
export function pathsTable(results: PathResult[], beside: BesideReport[] = []): string {
  const head = [...HEAD, ...beside.flatMap((b) => [`rows/s (${b.durability})`, `ratio (${b.durability})`])];
  const rows = results
    .filter((r) => !r.prototype)
    .map((r) => [
      ...pathRow(r),
      ...beside.flatMap((b) => {
        const o = b.paths.find((p) => p.id === r.id);
        if (!o || o.status !== 'ok') return [o?.status ?? '', ''];
        return [fmtInt(o.rowsPerSec), o.ratioToLimit?.toFixed(2) ?? ''];
      }),
    ]);
  return table(head, rows, [...ALIGN, ...beside.flatMap(() => ['r', 'r'] as const)]);
}

/** What goes into another run's report as its "beside" columns. */
export function besideOf(rep: BenchReport): BesideReport {
  return {
    durability: rep.durability ?? rep.machine.postgresKind,
    postgresSettings: rep.machine.postgresSettings,
    loadAverage: rep.machine.loadAverage,
    paths: rep.paths.map((p) => ({ id: p.id, status: p.status, medianSeconds: p.medianSeconds, rowsPerSec: p.rowsPerSec, ratioToLimit: p.ratioToLimit })),
  };
}

const settingsText = (x: Record<string, string>) =>
  Object.entries(x)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

export function prototypesTable(results: PathResult[]): string | undefined {
  const protos = results.filter((r) => r.prototype);
  if (!protos.length) return undefined;
  const head = ['prototype (bench-only code)', 'rows', 'median s', 'rows/s', 'ratio to limit', 'worker peak RSS', 'CPU s: node / src backend / sink backend', 'runs (s)'];
  const rows = protos.map((r) => {
    if (r.status !== 'ok') return [r.label, '', r.status, '', '', '', '', ''];
    const cpu = r.median?.loop?.cpu;
    const f = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(1));
    return [
      r.label,
      fmtInt(r.rows),
      r.medianSeconds!.toFixed(2),
      fmtInt(r.rowsPerSec),
      r.ratioToLimit?.toFixed(2) ?? '',
      rssText(r),
      cpu ? `${f(cpu.node)} / ${f(cpu.sourceBackend)} / ${f(cpu.sinkBackend)}` : '',
      r.runs.map((m) => m.seconds.toFixed(2)).join(' / '),
    ];
  });
  return table(head, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']);
}

export function goalsTable(goals: Goal[]): string {
  return table(
    ['goal', 'target', 'measured', ''],
    goals.map((g) => [g.goal, g.target, g.measured, g.status]),
    ['l', 'l', 'l', 'l'],
  );
}

export function profileTable(p: LoopResult): string {
  const entries = Object.entries(p.phases).sort((a, b) => b[1].wall - a[1].wall) as [string, PhaseTime][];
  const rows = entries.map(([name, t]) => [
    name === 'encode' ? '  encode (inside read)' : name,
    t.wall.toFixed(2),
    `${((t.wall / p.seconds) * 100).toFixed(1)} %`,
    ((t.wall / Math.max(p.pages, 1)) * 1000).toFixed(2),
    t.nodeCpu.toFixed(2),
  ]);
  const f = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)} s`);
  return (
    table(['phase', 'wall s', 'share', 'ms / page', 'node CPU s'], rows, ['l', 'r', 'r', 'r', 'r']) +
    `\n\n${fmtInt(p.rows)} rows in ${p.pages} pages (${p.directPages} by direct COPY, ${p.fallbacks} fallbacks), ${p.seconds.toFixed(2)} s wall. CPU: node ${f(p.cpu.node)}, ` +
    `source backend ${f(p.cpu.sourceBackend)}, sink backend ${f(p.cpu.sinkBackend)}.`
  );
}

/** The worker forms side by side: where their memory goes (maxima over the runs). */
export function workerMemoryTable(results: PathResult[]): string | undefined {
  const rows = results.filter((r) => r.status === 'ok' && r.workerPeakRssMb !== undefined);
  if (!rows.length) return undefined;
  const max = (r: PathResult, k: 'heapTotal' | 'heapUsed' | 'external' | 'arrayBuffers') => {
    const xs = r.runs.map((m) => m.workerMemory?.[k]).filter((x): x is number => x !== undefined);
    return xs.length ? mb(Math.max(...xs)) : '';
  };
  return table(
    ['worker', 'RSS when ready', 'peak RSS (VmHWM)', 'V8 heap (used)', 'external (ArrayBuffers)'],
    rows.map((r) => [r.label, mb(r.workerIdleRssMb), mb(r.workerPeakRssMb), max(r, 'heapTotal') && `${max(r, 'heapTotal')} (${max(r, 'heapUsed')})`, max(r, 'external') && `${max(r, 'external')} (${max(r, 'arrayBuffers')})`]),
    ['l', 'r', 'r', 'r', 'r'],
  );
}

export function scalingTable(points: ScalingPoint[]): string {
  return table(
    ['path', 'rows', 's', 'rows/s', 'worker peak RSS', 'history events'],
    points.map((p) => [
      p.label,
      fmtInt(p.rows),
      p.seconds.toFixed(2),
      fmtInt(p.rowsPerSec),
      p.workerPeakRssMb !== undefined ? `${mb(p.workerPeakRssMb)} (run max ${mb(p.workerRunMaxRssMb)})` : '',
      p.historyEvents !== undefined ? String(p.historyEvents) : '',
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r'],
  );
}

export function markdown(rep: BenchReport): string {
  const m = rep.machine;
  const out: string[] = [];
  out.push(`# tidemark bench — ${m.date}`);
  out.push('');
  out.push(
    `${fmtInt(rep.params.rows)} source rows (${rep.seed.textBytesPerRow} bytes/row as COPY text, ${rep.seed.diskBytesPerRow} bytes/row on disk with indexes), ` +
      `batchSize ${rep.params.batchSize}, median of ${rep.params.runs} run(s) per path, each on a fresh target; timing excludes seeding and target preparation.`,
  );
  out.push('');
  out.push(
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb} GB, ${m.os}; Node ${m.node}; ${m.postgres.split(',')[0]} (${m.postgresKind}${rep.durability ? `, ${rep.durability}` : ''}; ` +
      `${settingsText(m.postgresSettings)}); Temporal ${m.temporalCli?.split('\n')[0] ?? 'dev server'}, SDK ${m.temporalSdk}; git ${m.git ?? '?'}; ` +
      `load average at start ${m.loadAverage.join(' ')}${rep.loadAverageAtEnd ? `, at the end ${rep.loadAverageAtEnd.join(' ')}` : ''}.`,
  );
  for (const b of rep.beside ?? []) {
    out.push('');
    out.push(`Beside it, the same paths on a ${b.durability} cluster (${settingsText(b.postgresSettings)}; load average at its start ${b.loadAverage.join(' ')}), run first in a child bench.`);
  }
  out.push('');
  out.push(pathsTable(rep.paths, rep.beside));
  out.push('');
  out.push(`## Goals (issue #16${rep.durability ? `, on the ${rep.durability} cluster` : ''})`);
  out.push('');
  out.push(goalsTable(rep.goals));
  const protos = prototypesTable(rep.paths);
  if (protos) {
    out.push('');
    out.push('## Fast-path prototypes (bench/lib/loop-copy.ts; not tidemark code)');
    out.push('');
    out.push(protos);
  }
  const memory = workerMemoryTable(rep.paths);
  if (memory) {
    out.push('');
    out.push('## Worker memory (maxima over the runs; heap and external reported by the prebundled launcher only)');
    out.push('');
    out.push(memory);
  }
  if (rep.profile) {
    out.push('');
    out.push("## Where the loop's time goes (instrumented copy of the loop without prefetch, median run)");
    out.push('');
    out.push(profileTable(rep.profile));
  }
  if (rep.scaling?.length) {
    out.push('');
    out.push('## Scaling');
    out.push('');
    out.push(scalingTable(rep.scaling));
  }
  out.push('');
  out.push('## Paths');
  out.push('');
  for (const r of rep.paths) {
    out.push(`- **${r.label}** (\`${r.id}\`): ${r.describe}${r.problems.length ? ' — **failed:**' : ''}`);
    for (const problem of r.problems) {
      out.push('', '  ```text', ...problem.split('\n').slice(0, 25).map((l) => `  ${l}`), '  ```', '');
    }
  }
  if (rep.notes.length) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const n of rep.notes) out.push(`- ${n}`);
  }
  out.push('');
  return out.join('\n');
}
