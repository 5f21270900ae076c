import { allHandlersFinished, CancellationScope, condition, defineQuery, defineSignal, log, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities';
import type { RunInput, RunResult, ShardView } from '../activities/types';
import { recordCancelOptions, recordingCancellation, runActivityOptions, shortActivityOptions, withFairness } from './activity-options';
import { liftingPermanentFailure } from './permanent-failure';
import { parseBackfillInput, parseTuneInput, type TuneInput } from './validate-input';

// Local: a worker whose activity slots are all busy with shards still applies a tune at once.
const { applyTuning } = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute' });

/** `tidemark tune <id> --batch-size N --rate N`: retune a running backfill without restarting it. */
export const tuneSignal = defineSignal<[TuneInput]>('tune');
/** Each shard's state (rows and cursor of finished shards); running shards' progress is in their heartbeats. */
export const shardsQuery = defineQuery<ShardView[]>('shards');

/**
 * A full re-read from the start (or after `from`), bounded by the high-water mark taken when it
 * starts; `resume: true` continues the last backfill from its checkpoint instead. With `shards: N`
 * the key range is cut into N ranges read by N concurrent activities (any worker may run any of them),
 * each with its own checkpoint: history stays O(shards), not O(rows).
 */
export async function backfillWorkflow(input: unknown): Promise<RunResult> {
  const parsed = parseBackfillInput(input);
  const info = workflowInfo();
  const runKey = `${info.workflowId}/${info.runId}`;
  // Fair dispatch per integration (instance): all shards of one backfill share its key.
  const { runIntegration } = proxyActivities<Activities>(withFairness(runActivityOptions('backfill'), parsed.integration, info.priority, parsed.fairnessWeight));
  const { finishBackfill } = proxyActivities<Activities>(withFairness(shortActivityOptions('backfill'), parsed.integration, info.priority, parsed.fairnessWeight));
  // The plan heartbeats (its wait for writers, an API's probes): a worker killed while it plans is noticed in 30 s,
  // not at its 5-minute timeout (an acceptance run). Options are not compared on replay.
  const { planBackfill } = proxyActivities<Activities>(withFairness({ ...shortActivityOptions('backfill'), heartbeatTimeout: '30 seconds' }, parsed.integration, info.priority, parsed.fairnessWeight));
  const { recordCancelled } = proxyActivities<Activities>(withFairness(recordCancelOptions(), parsed.integration, info.priority, parsed.fairnessWeight));
  let tuning: TuneInput = { ...(parsed.batchSize ? { batchSize: parsed.batchSize } : {}), ...(parsed.rate ? { rowsPerSecond: parsed.rate } : {}) };
  const base: RunInput = { integration: parsed.integration, mode: parsed.resume ? 'resume' : 'backfill', runKey, tuning };
  let shards: ShardView[] = [];
  setHandler(shardsQuery, () => shards);
  setHandler(tuneSignal, async (raw: TuneInput) => {
    const t = parseTuneInput(raw);
    if (typeof t === 'string') {
      log.warn(t);
      return;
    }
    tuning = { ...tuning, ...t };
    await applyTuning({ integration: parsed.integration, runKey, ...tuning });
  });

  const result = await liftingPermanentFailure(() => recordingCancellation(async () => {
    const plan = parsed.resume || (parsed.shards ?? 1) > 1 ? await planBackfill({ integration: parsed.integration, runKey, shards: parsed.shards ?? 1, resume: !!parsed.resume, ...(parsed.from !== undefined ? { from: parsed.from } : {}) }) : undefined;
    if (!plan?.sharded) return inTimeBoxes(() => runIntegration({ ...base, tuning, ...(parsed.from !== undefined ? { from: parsed.from } : {}) }));
    if (plan.note) log.warn(plan.note);
    shards = Array.from({ length: plan.total }, (_, index) => ({ index, status: plan.todo.includes(index) ? 'pending' : 'done' }));
    await runShards(plan.todo, (index) => inTimeBoxes(() => runIntegration({ ...base, tuning, shard: index, shards: plan.todo.length })), shards);
    return finishBackfill({ integration: parsed.integration, runKey });
  }, () => recordCancelled({ integration: parsed.integration, runKey, kind: base.mode, startedAt: info.runStartTime.getTime() })));
  await condition(allHandlersFinished);
  return result;
}

/**
 * With `maxRunDuration`, a backfill works in time boxes: an activity that stops at its budget is followed by
 * a new one that continues from the checkpoint this run owns (as a retry would, same run row). Between boxes
 * the worker's slot is free and the next task is queued behind (with fairness: interleaved with) other
 * integrations' and instances' runs, so one huge backfill does not hold a slot for days. About 6 history
 * events per box.
 */
async function inTimeBoxes(run: () => Promise<RunResult>): Promise<RunResult> {
  for (;;) {
    const r = await run();
    if (r.done || r.stoppedBy !== 'time-budget') return r;
  }
}

/** All shards at once; the first failure cancels the others (each stops at a batch boundary) and fails the run. */
async function runShards(todo: number[], run: (index: number) => Promise<RunResult>, views: ShardView[]): Promise<void> {
  const scope = new CancellationScope();
  await scope.run(async () => {
    const all = todo.map(async (index) => {
      const view = views[index] as ShardView;
      view.status = 'running';
      try {
        const r = await run(index);
        Object.assign(view, { status: r.done ? 'done' : 'pending', rows: r.rows, cursor: r.cursor });
      } catch (err) {
        view.status = 'failed';
        throw err;
      }
    });
    try {
      await Promise.all(all);
    } catch (err) {
      scope.cancel();
      await Promise.allSettled(all);
      throw err;
    }
  });
}
