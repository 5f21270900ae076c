import type { Command } from 'commander';
import type { Bound, RangeDiff, VerifyReport } from '../verify';
import { wholeNumber } from './arg-parsers';
import { lazy } from './lazy';

interface VerifyFlags {
  repair?: boolean;
  delete?: boolean;
  dryRun?: boolean;
  force?: boolean;
  samples: number;
  ranges: number;
  json?: boolean;
}

const showBound = (b: Bound) => (b ? b.join(',') : '…');
const showKey = (k: string[]) => (k.length === 1 ? String(k[0]) : `(${k.join(',')})`);
const pct = (n: number, of: number) => `${of ? Number(((n / of) * 100).toFixed(2)) : 100}%`;

export function registerVerify(program: Command): void {
  program
    .command('verify <id>')
    .description('compare source and target of <id> by key ranges (counts and checksums in each database); --repair re-syncs the ranges that differ, --delete removes target rows the source no longer has')
    .option('--repair', 're-sync the ranges that differ')
    .option('--delete', 'remove target rows whose key the source no longer has (refused above deletes.maxFraction, default 10% of the target, without --force)')
    .option('--dry-run', 'with --delete: list what would be deleted (count per range, sample keys); write nothing')
    .option('--force', 'with --delete: delete even more than deletes.maxFraction of the target')
    .option('--samples <n>', 'sample keys listed per range with --delete', wholeNumber(0, 1000), 10)
    .option('--ranges <n>', 'how many key ranges', wholeNumber(1, 10_000), 32)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: VerifyFlags, cmd: Command) => {
      if ((opts.dryRun || opts.force) && !opts.delete) cmd.error('error: --dry-run and --force apply to --delete: add --delete');
      const { config, integration } = (await lazy('./context')).loadIntegration(cmd, id);
      const { verifyIntegration, sharedTargetOf } = await lazy('../verify');
      const sharedTarget = sharedTargetOf(config, integration);
      const r = await verifyIntegration(integration, { ranges: opts.ranges, repair: opts.repair, delete: opts.delete, dryRun: opts.dryRun, force: opts.force, samples: opts.samples, ...(sharedTarget ? { sharedTarget } : {}) });
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else printReport(id, r, opts);
      if (!r.consistent) process.exitCode = 1;
    });
}

function printReport(id: string, r: VerifyReport, opts: VerifyFlags): void {
  console.log(`${id}: ${r.ranges} key ranges, source ${r.sourceRows} rows, target ${r.targetRows} rows, ${r.differing.length} range(s) differ`);
  if (r.nullKeyRows) console.log(`  source ${r.nullKeyRows} rows more have a NULL in a sink.key column: no run can write them (see \`tidemark dead-letters ${id}\`), and no range holds them`);
  for (const d of r.differing) console.log(`  [${showBound(d.lo)}, ${showBound(d.hi)}): source ${d.source.rows} rows, target ${d.target.rows} rows${d.source.rows === d.target.rows ? ' (checksums differ)' : ''}${outcome(d, opts)}`);
  const del = r.deletes;
  if (del) {
    const share = `${pct(del.rows, r.targetRows)} of ${r.targetRows} target rows; deletes.maxFraction ${del.maxFraction}`;
    if (del.dryRun) {
      const guard = del.overLimit ? ': more than maxFraction, so a delete needs --force' : '';
      console.log(`${id}: dry run: ${del.rows} target row(s) the source no longer has would be deleted (${share}${guard}); nothing was written`);
    } else console.log(`${id}: deleted ${del.deleted} target row(s) the source no longer has (${share}${del.forced && del.overLimit ? ', --force' : ''})`);
  }
  const hint = opts.repair || opts.delete ? '' : ' (run with --repair to re-sync the differing ranges, --delete to remove rows the source no longer has)';
  console.log(r.consistent ? `${id}: consistent` : `${id}: NOT consistent${hint}`);
}

function outcome(d: RangeDiff, opts: VerifyFlags): string {
  const parts: string[] = [];
  if (d.missing?.rows) {
    const more = d.missing.rows > d.missing.samples.length ? ', …' : '';
    const sample = d.missing.samples.length ? `: ${d.missing.samples.map(showKey).join(', ')}${more}` : '';
    parts.push(`${d.missing.rows} row(s) the source no longer has${opts.dryRun ? ' (would be deleted)' : ' deleted'}${sample}`);
  }
  if (d.repaired !== undefined) parts.push(`repaired, ${d.repaired} rows written`);
  if (d.repairError !== undefined) parts.push(`NOT repaired: the target refused the range's rows: ${d.repairError}`);
  const kept = d.after ? d.after.target.rows - d.after.source.rows : 0;
  if (kept > 0 && !opts.delete) parts.push(`the target keeps ${kept} row(s) the source no longer has`);
  return parts.length ? ` → ${parts.join('; ')}` : '';
}
