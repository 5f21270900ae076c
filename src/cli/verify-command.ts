import type { Command } from 'commander';
import { verifyIntegration, type Bound } from '../verify';
import { loadIntegration } from './context';

const showBound = (b: Bound) => (b ? b.join(',') : '…');

export function registerVerify(program: Command): void {
  program
    .command('verify <id>')
    .description('compare source and target of <id> by key ranges (counts and checksums in each database); --repair re-syncs the ranges that differ')
    .option('--repair', 're-sync the ranges that differ')
    .option('--ranges <n>', 'how many key ranges', (v) => Number(v), 32)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { repair?: boolean; ranges: number; json?: boolean }, cmd: Command) => {
      const { integration } = loadIntegration(cmd, id);
      const r = await verifyIntegration(integration, { ranges: opts.ranges, repair: opts.repair });
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(`${id}: ${r.ranges} key ranges, source ${r.sourceRows} rows, target ${r.targetRows} rows, ${r.differing.length} range(s) differ`);
        for (const d of r.differing) {
          const fix = d.repaired !== undefined ? ` → repaired, ${d.repaired} rows written${d.after && d.after.target.rows > d.after.source.rows ? `; the target keeps ${d.after.target.rows - d.after.source.rows} row(s) the source no longer has` : ''}` : '';
          console.log(`  [${showBound(d.lo)}, ${showBound(d.hi)}): source ${d.source.rows} rows, target ${d.target.rows} rows${d.source.rows === d.target.rows ? ' (checksums differ)' : ''}${fix}`);
        }
        console.log(r.consistent ? `${id}: consistent` : `${id}: NOT consistent${opts.repair ? '' : ' (run with --repair to re-sync the differing ranges)'}`);
      }
      if (!r.consistent) process.exitCode = 1;
    });
}
