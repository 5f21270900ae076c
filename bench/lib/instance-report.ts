import type { CycleFigures } from './instance-runs';
import type { MachineInfo } from './machine';

export interface InstancesReport {
  machine: MachineInfo;
  params: { instances: number; every: number; cycles: number; records: number; concurrency: number };
  addSeconds: number;
  cycles: CycleFigures[];
  /** the Schedules' own counters, summed over the instances */
  schedules: { taken: number; missedCatchupWindow: number; skippedOverlap: number };
  missing: Array<{ cycle: number; instances: string[] }>;
  failedRuns: number;
  retriedRuns: number;
  stateBytes: Record<string, number>;
  workerRssMaxMb: number;
  workerRssHwmMb: number;
  loadAverages: number[];
  loadAverageAtEnd: number[];
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const mb = (b: number | undefined) => `${((b ?? 0) / 2 ** 20).toFixed(1)} MB`;

function goal(name: string, target: string, measured: string, ok: boolean): string {
  return `| ${name} | ${target} | ${measured} | ${ok ? 'PASS' : 'MISS'} |`;
}

/** bench/results/instances.md: the figures, the goals of issue #14 and how they were measured. */
export function instancesMarkdown(r: InstancesReport): string {
  const p = r.params;
  const n = p.instances;
  const worstP95 = Math.max(...r.cycles.map((c) => c.latencyP95));
  const allSynced = r.cycles.every((c) => c.instancesSynced === n);
  const loads = [...r.loadAverages].sort((a, b) => a - b);
  const medianLoad = loads.length ? loads[Math.floor(loads.length / 2)]! : r.loadAverageAtEnd[0]!;
  return [
    `# Instances at scale (issue #14): ${n} instances, every ${p.every / 1000} s, ${p.cycles} cycles, one worker`,
    '',
    `${r.machine.date.slice(0, 19)}Z · ${r.machine.cores} cores (${r.machine.cpu}) · ${r.machine.memoryGb} GB · node ${r.machine.node} · ${r.machine.postgres.split(',')[0]} (durable: fsync, synchronous_commit on) · Temporal CLI ${r.machine.temporalCli ?? '?'} dev server · git ${r.machine.git ?? '?'}`,
    '',
    `Command: \`npm run bench -- --paths instances --instances ${n} --every ${p.every / 1000}s --cycles ${p.cycles}\``,
    '',
    '| goal | target | measured | |',
    '|---|---|---|---|',
    goal('every instance synced in every cycle', `${n} of ${n}`, r.cycles.map((c) => `${c.instancesSynced}`).join(' / '), allSynced),
    goal('p95 latency, schedule time → run completed', '< 60 s', `${f1(worstP95)} s (worst cycle)`, worstP95 < 60),
    goal('worker RSS', '≤ 300 MB', `${Math.round(r.workerRssMaxMb)} MB max sampled (VmHWM ${Math.round(r.workerRssHwmMb)} MB)`, r.workerRssHwmMb <= 300),
    '',
    `Time to add ${n} instances (row + Schedule each, \`addInstance\` ${p.concurrency} at once): **${f1(r.addSeconds)} s** (${f1((r.addSeconds * 1000) / n)} ms each).`,
    '',
    '| cycle | interval from | instances synced | runs | not completed | runs/min | latency p50 | p95 | max | start delay p50 | p95 | activity p50 | p95 | rows |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.cycles.map(
      (c) =>
        `| ${c.cycle} | ${c.from.slice(11, 19)} | ${c.instancesSynced} | ${c.runs} | ${c.failedOrRunning} | ${f1(c.runsPerMinute)} | ${f1(c.latencyP50)} s | ${f1(c.latencyP95)} s | ${f1(c.latencyMax)} s | ${f1(c.startP50)} s | ${f1(c.startP95)} s | ${f1(c.activityP50)} s | ${f1(c.activityP95)} s | ${c.rows} |`,
    ),
    '',
    `Failed runs: ${r.failedRuns}; runs retried (more than one attempt): ${r.retriedRuns}. ` +
      `The Schedules took ${r.schedules.taken} actions in all, dropped ${r.schedules.missedCatchupWindow} that fired later than their catch-up window (the interval) and skipped ${r.schedules.skippedOverlap} because the previous run was still going.` +
      r.missing.filter((m) => m.instances.length).map((m) => ` Cycle ${m.cycle} lacks ${m.instances.slice(0, 5).join(', ')}${m.instances.length > 5 ? ` and ${m.instances.length - 5} more` : ''}.`).join(''),
    `State database after the run: ${mb(r.stateBytes.db)} in all (tidemark.runs ${mb(r.stateBytes.runs)}, checkpoints ${mb(r.stateBytes.checkpoints)}, instances ${mb(r.stateBytes.instances)}; the target table holds the rest).`,
    `Load average (1 min) while measuring: median ${medianLoad.toFixed(2)} of ${loads.length} samples, ${r.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')} at the end.`,
    '',
    'How: `latency` = the Schedule\'s nominal time (the suffix of the scheduled workflow id) → `tidemark.runs.finished_at`; `start delay` = nominal time → the activity\'s `started_at` ' +
      '(the Schedule firing, the workflow task and the activity waiting for a worker slot); `activity` = started_at → finished_at. ' +
      `Each instance's Schedule has a jitter offset derived from its id, so the ${n} runs of an interval spread over it. The first run of an instance reads the API's ${p.records} records, later ones find nothing new (one request). ` +
      'Worker: the default `tidemark worker` as it ships (compiled install, prebuilt bundle, 8 activity slots), RSS sampled every second.',
    '',
  ].join('\n');
}
