import type { Context } from '@temporalio/activity';

const WAIT_TICK_MS = 1_000;

/**
 * A per-worker cap on open source connections (`tidemark worker --max-source-connections N`), so
 * many shards on one worker cannot overload the source. Waiting activities keep heartbeating.
 */
export class SourceSlots {
  private used = 0;

  constructor(readonly max: number) {}

  async acquire(ctx: Context): Promise<() => void> {
    while (this.used >= this.max) {
      ctx.heartbeat(ctx.info.heartbeatDetails);
      await ctx.sleep(WAIT_TICK_MS);
    }
    this.used++;
    let released = false;
    return () => {
      if (!released) this.used--;
      released = true;
    };
  }

  get inUse(): number {
    return this.used;
  }
}
