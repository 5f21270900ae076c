import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/** CPU seconds (user + system) a local process has used so far; undefined if it is not ours to see. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / clockTicks();
  } catch {
    return undefined;
  }
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
