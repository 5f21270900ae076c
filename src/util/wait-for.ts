import { abortError } from './abort-error';
import { sleep } from './sleep';

/** Heartbeat cadence while waiting: well inside the activity's 30 s heartbeat timeout. */
export const IDLE_TICK_MS = 2_000;

/**
 * Sleeps `ms`, calling onIdle every `tickMs` (the activity heartbeats from it) and throwing
 * at once when the signal aborts.
 */
export async function waitFor(ms: number, signal?: AbortSignal, onIdle?: () => void, tickMs = IDLE_TICK_MS): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    const left = until - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(left, tickMs), signal);
    onIdle?.();
  }
}
