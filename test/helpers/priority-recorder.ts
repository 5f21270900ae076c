import type { Priority } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface SeenActivity {
  type: string;
  integration?: string;
  priority?: Priority;
}

/** A worker activity interceptor recording each activity's type, integration argument and task-queue priority into `seen`. */
export function recordPriorities(seen: SeenActivity[]): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      execute: (input, next) => {
        const arg = input.args[0] as { integration?: string } | undefined;
        seen.push({ type: ctx.info.activityType, ...(arg?.integration ? { integration: arg.integration } : {}), ...(ctx.info.priority ? { priority: ctx.info.priority } : {}) });
        return next(input);
      },
    },
  });
}
