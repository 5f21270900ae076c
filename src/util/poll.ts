import { abortError } from './abort-error';
import { sleep } from './sleep';

export interface PollOptions {
  /** Pause between checks (ms). */
  intervalMs: number;
  /** Give up after this long (ms): throw `timedOut()`, or return undefined without one. No limit when absent. */
  timeoutMs?: number;
  timedOut?: () => Error;
  /** Stop polling (throwing abortError) when it aborts. */
  signal?: AbortSignal;
  /** Pause once before the first check (something was just asked for and needs a moment). */
  waitFirst?: boolean;
}

/** The one poll helper: calls `check` every `intervalMs` until it returns something other than undefined. */
export async function pollUntil<T>(check: () => Promise<T | undefined> | T | undefined, opts: PollOptions): Promise<T | undefined> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  if (opts.waitFirst) await sleep(opts.intervalMs, opts.signal);
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      if (opts.timedOut) throw opts.timedOut();
      return undefined;
    }
    await sleep(opts.intervalMs, opts.signal);
  }
}
