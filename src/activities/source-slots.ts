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
    for (;;) {
      const release = this.tryAcquire();
      if (release) return release;
      ctx.heartbeat(ctx.info.heartbeatDetails);
      await ctx.sleep(WAIT_TICK_MS);
    }
  }

  /** A slot if one is free now, else undefined (the caller then waits with acquire, or does without). */
  tryAcquire(): (() => void) | undefined {
    if (this.used >= this.max) return undefined;
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
