import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { ensureTemporalCli } from '../../src/dev';
import { sql } from './db';

export interface MachineInfo {
  date: string;
  cores: number;
  cpu: string;
  memoryGb: number;
  loadAverage: number[];
  os: string;
  node: string;
  postgres: string;
  postgresKind: 'embedded' | 'DATABASE_URL';
  postgresSettings: Record<string, string>;
  temporalCli?: string;
  temporalSdk: string;
  git?: string;
}

const SETTINGS = ['shared_buffers', 'work_mem', 'maintenance_work_mem', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'max_wal_size'];

export async function machineInfo(url: string, postgresKind: 'embedded' | 'DATABASE_URL', repoRoot: string): Promise<MachineInfo> {
  const [v] = await sql<{ v: string }>(url, 'SELECT version() AS v');
  const settings = await sql<{ name: string; setting: string; unit: string | null }>(url, 'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [SETTINGS]);
  let temporalCli: string | undefined;
  try {
    const cli = process.env.TIDEMARK_TEMPORAL_CLI || (await ensureTemporalCli());
    if (cli) temporalCli = execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    /* not essential */
  }
  let git: string | undefined;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    git = dirty ? `${head} + uncommitted changes in src/` : head;
  } catch {
    /* not a checkout */
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON file outside rootDir's imports
  const sdk = (require(join(repoRoot, 'node_modules', '@temporalio', 'worker', 'package.json')) as { version: string }).version;
  return {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: v?.v ?? 'unknown',
    postgresKind,
    postgresSettings: Object.fromEntries(settings.map((s) => [s.name, s.unit ? `${s.setting} ${s.unit}` : s.setting])),
    temporalCli,
    temporalSdk: sdk,
    git,
  };
}
