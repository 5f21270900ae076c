import { InvalidArgumentError, type Command } from 'commander';
import { lazy } from './lazy';
import { wholeNumber } from './arg-parsers';

export function registerDeadLetters(program: Command): void {
  program
    .command('dead-letters <id>')
    .description('records of <id> that failed validation or mapping, or that the target refused (a constraint, or an API\'s 4xx answer); --retry re-processes them with the current config and target')
    .option('--retry', 're-process pending dead letters (after fixing the config, the data, the target table or the API); an HTTP sink sends them again')
    .option('--letter <n>', 'with --retry: only this dead letter (repeatable)', (v: string, prev: string[] = []) => {
      if (!/^\d{1,18}$/.test(v)) throw new InvalidArgumentError('a dead letter number, as listed (#N)');
      return [...prev, String(BigInt(v))]; // 007 is letter 7 (the review)
    })
    .option('--all', 'list retried letters too')
    .option('--limit <n>', 'how many to list', wholeNumber(1, 100_000), 50)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { retry?: boolean; letter?: string[]; all?: boolean; limit: number; json?: boolean }, cmd: Command) => {
      if (opts.letter && !opts.retry) cmd.error('error: --letter goes with --retry');
      const { loadIntegration, stateUrl } = await lazy('./context');
      const { integration } = loadIntegration(cmd, id);
      if (opts.retry) {
        const { retryDeadLetters, retrySummary } = await lazy('../transform/retry-dead-letters');
        const r = await retryDeadLetters(integration, process.env, opts.letter ? { ids: opts.letter } : {});
        if (r.stillFailing.length || r.notPending?.length) process.exitCode = 1;
        if (opts.json) return console.log(JSON.stringify(r, null, 2));
        console.log(`${id}: ${retrySummary(r)}`);
        for (const f of r.stillFailing.slice(0, opts.limit)) console.log(`  #${f.id}: ${f.reason}`);
        if (r.stillFailing.length > opts.limit) console.log(`  … and ${r.stillFailing.length - opts.limit} more still failing (--limit N shows more)`);
        for (const n of r.notPending ?? []) console.error(`error: dead letter #${n.id} was not retried: ${n.why} (\`tidemark dead-letters ${id} --all\` lists this integration's letters)`);
        return;
      }
      const { openStateSession } = await lazy('../db/state-session');
      const { closeQuietly } = await lazy('../pg/connect');
      const { countDeadLetters, listDeadLetters } = await lazy('../db/state');
      const db = await openStateSession(stateUrl(integration), { applicationName: 'tidemark-cli' });
      try {
        const letters = await listDeadLetters(db, id, { pendingOnly: !opts.all, limit: opts.limit });
        if (opts.json) return console.log(JSON.stringify(letters.map((l) => ({ ...l, record: JSON.parse(l.record), cursor: l.cursor && JSON.parse(l.cursor) })), null, 2));
        if (!letters.length) return console.log(`${id}: no ${opts.all ? '' : 'pending '}dead letters`);
        for (const l of letters) {
          // The API's status on a line of its own: one can tell a 409 from a 422 without reading the answer.
          const status = l.http_status === null ? '' : `\n  http status: ${l.http_status}`;
          const seen = l.seen > 1 ? ` (refused ${l.seen} times, last ${(l.last_seen_at ?? l.created_at).slice(0, 19)})` : '';
          console.log(`#${l.id} ${l.created_at.slice(0, 19)}${seen}${l.retried_at ? ` (${l.superseded ? 'superseded by a later write of its key, not applied' : 'retried'} ${l.retried_at.slice(0, 19)})` : ''} at cursor ${l.cursor}${status}\n  reason: ${l.reason}\n  record: ${l.record}`);
        }
        // Never a silent cut: the listing says how many there are when the limit stopped it.
        if (letters.length === opts.limit) {
          const total = await countDeadLetters(db, id, { pendingOnly: !opts.all });
          if (total > letters.length) console.log(`showing the first ${letters.length} of ${total} ${opts.all ? '' : 'pending '}dead letters: --limit N shows more (up to 100000), --json for tools`);
        }
      } finally {
        await closeQuietly(db);
      }
    });
}
