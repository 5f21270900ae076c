import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Memory of a local process from /proc (Linux): current and peak resident set, in MiB. */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/**
 * A process's command name and CPU seconds from /proc/<pid>/stat: its own (utime 14 + stime 15) and its reaped
 * children's (cutime 16 + cstime 17); undefined if it is gone or not ours to see.
 */
function statOf(pid: number | string): { comm: string; own: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that ends the command name start at field 3 (state).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const t = clockTicks();
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), own: (Number(rest[11]) + Number(rest[12])) / t, children: (Number(rest[13]) + Number(rest[14])) / t };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a local process has used so far; undefined if it is not ours to see. */
export function cpuSecondsOf(pid: number): number | undefined {
  return statOf(pid)?.own;
}

/** Samples a process's memory every `everyMs` until stopped; VmHWM is the kernel's own peak. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  maxRssMb = 0;
  lastHwmMb = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 50,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  sample(): void {
    const m = memoryOf(this.pid);
    if (!m) return;
    this.maxRssMb = Math.max(this.maxRssMb, m.rssMb);
    this.lastHwmMb = Math.max(this.lastHwmMb, m.hwmMb);
  }

  stop(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
  }
}

/** Child process ids of a local process (Linux /proc); empty when it has none or is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The machine's CPU time so far from /proc/stat (all cores, in ticks): busy, idle and waiting for I/O. */
export interface CpuTicks {
  busy: number;
  idle: number;
  iowait: number;
}

export function machineCpu(): (CpuTicks & { byCommand: ReturnType<typeof cpuByProcess>; steal: number }) | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
    // cpu user nice system idle iowait irq softirq steal …
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    return { busy: user! + nice! + system! + irq! + softirq! + steal!, idle: idle!, iowait: iowait!, byCommand: cpuByProcess(), steal: steal! };
  } catch {
    return undefined;
  }
}

/** How the machine's cores spent the time between two readings, e.g. "busy 93 % (stolen 0 %), idle 5 %, I/O wait 2 % (CPU: postgres 5.1 s, …)". */
export function cpuShares(a: ReturnType<typeof machineCpu>, b: ReturnType<typeof machineCpu>): string {
  if (!a || !b) return 'CPU shares unknown';
  const [busy, idle, io, steal] = [b.busy - a.busy, b.idle - a.idle, b.iowait - a.iowait, b.steal - a.steal];
  const all = busy + idle + io || 1;
  const pct = (v: number) => `${Math.round((100 * v) / all)} %`;
  return `cores busy ${pct(busy)} (stolen by the host ${pct(steal)}), idle ${pct(idle)}, I/O wait ${pct(io)} (CPU: ${cpuSpent(a.byCommand, b.byCommand)})`;
}

/** CPU seconds used so far by every process (and its reaped children) this user can see, by pid, with its command name (the bench itself as "bench"). */
export function cpuByProcess(): Map<number, { name: string; seconds: number }> {
  const out = new Map<number, { name: string; seconds: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    const st = statOf(pid);
    if (!st) continue; // gone meanwhile
    // A kernel worker's name changes with its work item ("kworker/u8:2-flush-254:0"): kept as "kworker".
    const comm = st.comm.replace(/^kworker\/.*/, 'kworker');
    // Its own time and its reaped children's (a connection's backend that ended during the run counts under postgres).
    out.set(Number(pid), { name: Number(pid) === process.pid ? 'bench' : comm, seconds: st.own + st.children });
  }
  return out;
}

/** The CPU seconds spent between two readings, summed by command name, largest first: "postgres 5.1 s, node 2.3 s, …". */
export function cpuSpent(a: ReturnType<typeof cpuByProcess>, b: ReturnType<typeof cpuByProcess>): string {
  const byName = new Map<string, number>();
  for (const [pid, p] of b) byName.set(p.name, (byName.get(p.name) ?? 0) + p.seconds - (a.get(pid)?.seconds ?? 0));
  const spent = [...byName].filter(([, s]) => s >= 0.05);
  return spent.sort((x, y) => y[1] - x[1]).map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(', ');
}
