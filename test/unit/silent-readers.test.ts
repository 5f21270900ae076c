import { describe, expect, it } from 'vitest';
import { msToTs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import type { Progress } from '../../src/activities/types';
import { SILENT_S, combineShards, liveProgress, planningOf, progressLine, silentLine, silentReaders, unclaimedLine, unclaimedReaders } from '../../src/cli/run-progress';

const NOW = Date.parse('2026-12-03T00:00:00Z');
/** A pending activity as DescribeWorkflowExecution returns it (state 2: started, 1: scheduled). */
const pending = (type: string, state: number, heartbeatAgoS?: number, startedAgoS = 60): temporal.api.workflow.v1.IPendingActivityInfo => ({
  activityType: { name: type },
  state,
  lastStartedTime: msToTs(NOW - startedAgoS * 1000),
  ...(heartbeatAgoS !== undefined ? { lastHeartbeatTime: msToTs(NOW - heartbeatAgoS * 1000) } : {}),
});

describe('status: a reading attempt that went silent (its worker killed)', () => {
  it('names the silent attempts once their last heartbeat (or start) is SILENT_S old, not before', () => {
    expect(silentReaders([pending('runIntegration', 2, 3)], NOW)).toBeUndefined();
    expect(silentReaders([pending('runIntegration', 2, SILENT_S - 1)], NOW)).toBeUndefined();
    expect(silentReaders([pending('runIntegration', 2, 22)], NOW)).toEqual({ count: 1, of: 1, seconds: 22 });
    // Never heartbeated: from its start.
    expect(silentReaders([pending('runIntegration', 2, undefined, 40)], NOW)).toEqual({ count: 1, of: 1, seconds: 40 });
    // A retried attempt that just started keeps the attempt before's old heartbeat: it is not silent (the review).
    expect(silentReaders([pending('runIntegration', 2, 45, 3)], NOW)).toBeUndefined();
    // A scheduled attempt (waiting for a worker) and the plan are not readers.
    expect(silentReaders([pending('runIntegration', 1, 80), pending('planBackfill', 2, 80)], NOW)).toBeUndefined();
    // Shards: 2 of 4 on the killed worker.
    const shards = [pending('runIntegration', 2, 2), pending('runIntegration', 2, 18), pending('runIntegration', 2, 25), pending('runIntegration', 2, 1)];
    const s = silentReaders(shards, NOW);
    expect(s).toEqual({ count: 2, of: 4, seconds: 25 });
    expect(silentLine(s!)).toMatch(/^2 of 4 shards have sent no heartbeat for 25 s: the worker may be gone, and the rate above is from before\. Temporal gives the attempt to another worker once 30 s pass/);
    expect(silentLine({ count: 1, of: 1, seconds: 17 })).toMatch(/^the run has sent no heartbeat for 17 s/);
  });

  it('the plan: last heard of at the later of its heartbeat and its start', () => {
    expect(planningOf({ ...pending('planBackfill', 2, 12, 40), attempt: 1 }, NOW)).toEqual({ attempt: 1, silentS: 12 });
    // A retried plan that started 2 s ago keeps the attempt before's heartbeat of 45 s ago: heard of 2 s ago.
    expect(planningOf({ ...pending('planBackfill', 2, 45, 2), attempt: 2 }, NOW)).toEqual({ attempt: 2, silentS: 2 });
    // Scheduled, never started: no time (waiting for a worker).
    expect(planningOf({ activityType: { name: 'planBackfill' }, state: 1 }, NOW)).toEqual({ attempt: 1 });
  });

  it('no worker: attempts due and not taken are named, their old rate and ETA dropped (an acceptance run read "87,931 rows/s, ETA 16s" 100 s after both workers died)', () => {
    const scheduled = (dueAgoS: number, attempt = 2): temporal.api.workflow.v1.IPendingActivityInfo => ({ ...pending('runIntegration', 1, 40, 45), attempt, scheduledTime: msToTs(NOW - dueAgoS * 1000) });
    // Due 70 s ago, nobody took it; a second shard still in its retry backoff (due in 5 s) is not counted; a running one neither.
    const u = unclaimedReaders([scheduled(70), scheduled(-5), pending('runIntegration', 2, 1)], 'tidemark', NOW);
    expect(u).toEqual({ count: 1, of: 3, seconds: 70, taskQueue: 'tidemark' });
    expect(unclaimedLine(u!)).toMatch(/^1 of 3 shards wait for a worker on task queue "tidemark" \(70 s so far; no rate or ETA until one takes over\): start one with `tidemark worker`/);
    expect(unclaimedLine({ count: 1, of: 1, seconds: 9, taskQueue: 'q' })).toMatch(/^the run waits for a worker on task queue "q"/);
    // Workers poll but every slot is busy (more shards than --max-activities): not "start a worker" (the review).
    expect(unclaimedLine({ count: 4, of: 8, seconds: 9, taskQueue: 'q', pollers: 2 })).toBe('4 of 8 shards wait for a free activity slot on the 2 worker(s) seen polling task queue "q" in the last 75 s (9 s so far; no rate from them until taken; a worker that stopped stays listed that long, then this says no worker is left)');
    expect(unclaimedReaders([pending('runIntegration', 2, 1), pending('planBackfill', 1, 80)], 'tidemark', NOW)).toBeUndefined();

    const beat: Progress = { rows: 560_000, pages: 112, rate: 87_931, etaSeconds: 16, remaining: 1_440_000, total: 2_000_000, cursor: ['x'] } as unknown as Progress;
    const stale = liveProgress(scheduled(70), beat);
    expect(progressLine(stale)).toMatch(/^560,000 \/ 2,000,000 \(28%\) rows, 0 rows\/s, ETA \?/);
    expect(liveProgress(pending('runIntegration', 2, 1), beat)).toBe(beat);
    // Shards: only the running one's rate counts; the ETA is from it.
    const combined = combineShards([liveProgress(pending('runIntegration', 2, 1), { ...beat, rate: 1000, remaining: 10_000 }), stale], undefined);
    expect(combined).toMatchObject({ rate: 1000, etaSeconds: 1450 });
  });
});
