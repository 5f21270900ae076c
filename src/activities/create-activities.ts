import { makeApplyTuning, makeFinishBackfill, makePlanBackfill } from './plan-backfill';
import { makeRunIntegration, type ActivityDeps } from './run-integration';

/** The worker's activities; the workflow side sees only their types. */
export function createActivities(deps: ActivityDeps) {
  return {
    runIntegration: makeRunIntegration(deps),
    planBackfill: makePlanBackfill(deps),
    finishBackfill: makeFinishBackfill(deps),
    applyTuning: makeApplyTuning(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
