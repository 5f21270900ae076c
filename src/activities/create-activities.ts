import { makeApplyTuning, makeFinishBackfill, makePlanBackfill, makeRecordCancelled } from './plan-backfill';
import { makeReconcileDeletes, withDeletesFlag } from './reconcile-deletes';
import { makeRunIntegration, type ActivityDeps } from './run-integration';

/** The worker's activities; the workflow side sees only their types. */
export function createActivities(deps: ActivityDeps) {
  return {
    runIntegration: withDeletesFlag(deps, makeRunIntegration(deps)),
    planBackfill: makePlanBackfill(deps),
    finishBackfill: makeFinishBackfill(deps),
    applyTuning: makeApplyTuning(deps),
    recordCancelled: makeRecordCancelled(deps),
    reconcileDeletes: makeReconcileDeletes(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
