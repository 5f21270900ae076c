import type { Command } from 'commander';
import type pg from 'pg';
import { printStatusAll, type StatusAllOptions } from './instances-command';
import { lazy } from './lazy';
import { failureMessage } from './run-commands';

const WATCH_MS = 500;

export function registerStatus(program: Command): void {
  program
    .command('status [id]')
    .description('rows done, rate, cursor, ETA of integration <id>; --watch draws a progress bar until the run ends; --all: one line per integration and instance')
    .option('--watch', 'redraw a live progress bar until the run ends (exit 0 only when it completed)')
    .option('--all', 'one line per integration and instance (state, last success, lag, rows, failures, next run)')
    .option('--json', 'with --all: JSON')
    .option('--failing', 'with --all: only failing ones (failing, needs_reauth)')
    .option('--template <id>', "with --all: only this template's instances")
    .action(async (id: string | undefined, opts: { watch?: boolean; all?: boolean } & StatusAllOptions, cmd: Command) => {
      if (opts.all) {
        if (id) cmd.error(`error: give an integration id or --all, not both`);
        return printStatusAll(cmd, opts);
      }
      if (!id) cmd.error('error: missing integration id: `tidemark status <id>`, or `tidemark status --all` for every integration and instance');
      if (opts.json || opts.failing || opts.template) cmd.error('error: --json, --failing and --template go with --all');
      const { loadIntegration, stateUrl } = await lazy('./context');
      const { integration } = loadIntegration(cmd, id);
      const { connectClient, latestWorkflowOf, runningWorkflowsOf, workflowIdFor } = await lazy('../client');
      const { closeQuietly, connect } = await lazy('../pg/connect');
      const { listCheckpoints, listRuns, listShardSlots, readCheckpoint, runningRunKeys, slotStatusText } = await lazy('../db/state');
      const { describeRun, lastRunLine, progressLine, silentLine, unclaimedLine, withCommittedRows, writersWaitLine } = await lazy('./run-progress');
      const client = await connectClient();
      const db = await connect(stateUrl(integration), { applicationName: 'tidemark-cli' }).catch(() => undefined);
      try {
        // The running workflows (manual, cron, scheduled), else the one started last.
        const running = await runningWorkflowsOf(client, id, db ? await runningRunKeys(db, id).catch(() => []) : []);
        const handles = running.length ? running : [(await latestWorkflowOf(client, id).catch(() => undefined)) ?? client.workflow.getHandle(workflowIdFor(id))];
        let waitsShown = false;
        let watched: { handle: (typeof handles)[number]; running: boolean; status: string } | undefined;
        for (const handle of handles) {
          const view = await describeRun(client, handle);
          if (!view) {
            console.log(`${id}: no run in Temporal yet`);
            continue;
          }
          console.log(`${id}: ${view.type} ${view.workflowId} ${view.status}`);
          if (view.shards) console.log(`  shards     ${view.shards.done} done, ${view.shards.running} running, ${view.shards.total} in all`);
          if (view.planning && view.status === 'RUNNING') {
            const heard = view.planning.silentS !== undefined ? `, last heard of ${view.planning.silentS} s ago (a worker lost while planning is noticed after 30 s)` : ', waiting for a worker';
            console.log(`  planning   cutting the range into shards (it waits for the source's open writers first), attempt ${view.planning.attempt}${heard}`);
          }
          if (view.waitingForWriters && view.status === 'RUNNING') console.log(`  waiting    ${writersWaitLine(view.waitingForWriters)}`);
          // A closed workflow's last heartbeat is history, not progress (no rate, no ETA); its failure says why it ended.
          if (view.progress && view.status === 'RUNNING') console.log(`  progress   ${progressLine(view.shardRows && db ? withCommittedRows(view.progress, view.shardRows, await slotRows(db, id)) : view.progress)}`);
          if (view.silent && view.status === 'RUNNING') console.log(`  silent     ${silentLine(view.silent)}`);
          if (view.unclaimed) console.log(`  ${view.unclaimed.pollers ? 'queued    ' : 'no worker '} ${unclaimedLine(view.unclaimed)}`);
          if (view.lastFailure && view.status === 'RUNNING') {
            console.log(view.recovered ? `  recovered  attempt ${view.attempt} is reading; the one before failed: ${view.lastFailure}` : `  retrying   attempt ${view.attempt}: ${view.lastFailure}`);
          }
          const stuck = view.status === 'RUNNING' ? await (await lazy('./stuck-task')).stuckTask(client, handle) : undefined;
          if (stuck) console.log(`  stuck      ${stuck}`);
          if (view.status === 'RUNNING' && db && !waitsShown) {
            waitsShown = true; // the integration's runs, once
            for (const line of await (await lazy('./blocked-lines')).blockedLines(db, integration)) console.log(`  waiting    ${line}`);
          }
          if (view.status !== 'RUNNING' && view.status !== 'COMPLETED') console.log(`  why        ${view.status.toLowerCase()}: ${await endReason(client.workflow.getHandle(view.workflowId, view.runId, { followRuns: false }))}`);
          watched ??= { handle, running: view.status === 'RUNNING', status: view.status };
        }
        if (db) {
          // A slot `running` whose run ended reads `unfinished (run …)`: not one still being written.
          const runOf = new Map((await listCheckpoints(db, id).catch(() => [])).map((c) => [c.slot, c.runStatus]));
          const shown = (slot: string, status: string) => slotStatusText({ status, runStatus: runOf.get(slot) });
          for (const slot of ['backfill', 'sync']) {
            const cp = await readCheckpoint(db, id, slot).catch(() => undefined);
            if (cp) console.log(`  ${slot.padEnd(10)} ${shown(slot, cp.status)}, ${cp.rowsDone} rows, cursor ${JSON.stringify(cp.cursor)}, updated ${cp.updatedAt}`);
          }
          for (const shard of await listShardSlots(db, id).catch(() => [])) {
            const slot = `backfill/${shard.index}`;
            console.log(`  ${slot.padEnd(10)} ${shown(slot, shard.status)}, ${shard.rowsDone} rows, cursor ${JSON.stringify(shard.cursor)}, ends at ${JSON.stringify(shard.until)}`);
          }
          const [last] = await listRuns(db, id, 1).catch(() => []);
          if (last) console.log(`  last run   ${lastRunLine(id, last)}`);
          // Things to fix (a missing index, a moved checkpoint), as the run logged them.
          for (const w of last?.warnings ?? []) console.log(`  warning    ${w}`);
        }
        // A run that already ended when the watch began: the same exit code as if it had been watched to its end.
        if (opts.watch && watched && !watched.running && watched.status !== 'COMPLETED') process.exitCode = 1;
        if (opts.watch && watched?.running) {
          const bar = new (await lazy('./progress-bar')).ProgressBar();
          const { handle } = watched;
          const { pollUntil } = await lazy('../util/poll');
          await pollUntil(async () => {
            const v = await describeRun(client, handle);
            if (v?.progress) bar.update(v.shardRows && db ? withCommittedRows(v.progress, v.shardRows, await slotRows(db, id)) : v.progress);
            if (v && v.status === 'RUNNING') return undefined;
            if (v?.status === 'COMPLETED') {
              const r = (await handle.result().catch(() => undefined)) as { rows?: number; done?: boolean } | undefined;
              if (r?.done && typeof r.rows === 'number') bar.finish(r.rows);
            }
            bar.stop();
            console.log(`${id}: ${v?.status ?? 'gone'}`);
            // As `--wait` does: 0 only when the run it watched completed, so a script can tell the outcome.
            if (v?.status !== 'COMPLETED') process.exitCode = 1;
            return true;
          }, { intervalMs: WATCH_MS });
        }
      } finally {
        await closeQuietly(db);
        await (await lazy('./close-client')).closeClient(client);
      }
    });
}

/** Why a closed workflow did not complete: that run's own end (followRuns off: a run started since is not waited for). */
async function endReason(handle: { result: () => Promise<unknown> }): Promise<string> {
  return failureMessage(
    await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
}

/** The rows each shard slot of the integration's last sharded plan committed (none when the database cannot say). */
async function slotRows(db: pg.Client, id: string): Promise<Map<string, number>> {
  const { listShardSlots } = await lazy('../db/state');
  return new Map((await listShardSlots(db, id).catch(() => [])).map((s) => [`backfill/${s.index}`, Number(s.rowsDone)]));
}
