import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { BenchReport } from '../report';
import { DURABILITIES, type Durability } from './stack';

/** `--settings durable,throwaway`: the first is the run's own (goals, charts); the others run beside it. */
export function parseSettings(v: string): Durability[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    if (!DURABILITIES.includes(s as Durability)) throw new InvalidArgumentError(`--settings: unknown "${s}"; use ${DURABILITIES.join(', ')}`);
  }
  if (!list.length) throw new InvalidArgumentError('--settings: name at least one of durable, throwaway');
  return [...new Set(list)] as Durability[];
}

/**
 * The same bench on a cluster of another durability, in a child process (its own stack, run before
 * the main one so the two never share the machine): its report, for the columns beside the main table.
 */
export async function runBeside(setting: Durability, argv: string[], log: (s: string) => void): Promise<BenchReport> {
  const out = mkdtempSync(join(tmpdir(), `tidemark-bench-${setting}-`));
  const args = [...stripOptions(argv.slice(2), ['--settings', '--out', '--scaling']), '--settings', setting, '--out', out];
  log(`${setting} cluster: running the same paths in a child bench (${args.join(' ')})`);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (c) => resolve(c));
    });
    const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    if (code !== 0) log(`${setting} cluster: the child bench exited with ${code}; its table shows what failed`);
    return report;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** argv without the given options (and their values; flags without a value when they take none). */
function stripOptions(args: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const name = a.split('=')[0] as string;
    if (!names.includes(name)) {
      out.push(a);
      continue;
    }
    if (name !== '--scaling' && !a.includes('=')) i++; // skip its value
  }
  return out;
}
