/**
 * `npm run chaos [-- --scenarios a,b] [--rows N] [--kills N] [--quick]`: fault injection against real
 * servers this process starts (Temporal dev server, embedded PostgreSQL unless DATABASE_URL). Each
 * scenario prints one line `<scenario>: lost N, duplicated N, reprocessed N rows, result ok|FAIL` on
 * stdout (progress and reasons go to stderr), then a summary table; the exit code is 1 on any FAIL.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { ChaosContext } from './lib/context';
import { resultLine, summaryTable, type ScenarioResult } from './lib/report';
import { startChaosStack } from './lib/stack';
import { SCENARIOS } from './scenarios';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

function scenarioList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !SCENARIOS[n]);
  if (unknown.length) throw new InvalidArgumentError(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return names;
}

async function main(): Promise<number> {
  const program = new Command('chaos')
    .description('fault injection: every scenario ends with the target compared to the source')
    .option('--scenarios <list>', `comma-separated, from: ${Object.keys(SCENARIOS).join(', ')}`, scenarioList)
    .option('--rows <n>', 'rows of the worker-kill backfill (default 1000000; --quick 50000)', positiveInt)
    .option('--kills <n>', 'SIGKILLs during the worker-kill backfill (default 10; --quick 2)', positiveInt)
    .option('--quick', 'small sizes (the variants npm test runs)')
    .parse(process.argv);
  const opts = program.opts<{ scenarios?: string[]; rows?: number; kills?: number; quick?: boolean }>();
  const names = opts.scenarios ?? Object.keys(SCENARIOS);
  const t0 = Date.now();
  const stack = await startChaosStack();
  console.error(`chaos: ${stack.describe}; scenarios: ${names.join(', ')}${opts.quick ? ' (quick)' : ''}`);
  const ctx: ChaosContext = {
    temporalAddress: stack.temporalAddress,
    adminUrl: stack.adminUrl,
    quick: !!opts.quick,
    ...(opts.rows ? { rows: opts.rows } : {}),
    ...(opts.kills ? { kills: opts.kills } : {}),
    log: (m) => console.error(`  ${new Date().toISOString().slice(11, 19)} ${m}`),
  };
  const results: ScenarioResult[] = [];
  try {
    for (const name of names) {
      const r = await (SCENARIOS[name] as (c: ChaosContext) => Promise<ScenarioResult>)(ctx);
      results.push(r);
      for (const why of r.failures) console.error(`  ${name} FAIL: ${why}`);
      console.log(resultLine(r));
    }
  } finally {
    await stack.stop();
  }
  console.log(`\n${summaryTable(results)}\n`);
  const failed = results.filter((r) => !r.ok).map((r) => r.scenario);
  console.log(`${results.length} scenario(s) in ${((Date.now() - t0) / 60_000).toFixed(1)} min: ${failed.length ? `FAIL (${failed.join(', ')})` : 'all ok'}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
