import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ReadTally } from '../../src/activities/read-tally';
import { prefetch } from '../../src/sources/combinators/prefetch';
import type { EncodedPage } from '../../src/sources/source';

async function* pages(n: number, size: number): AsyncGenerator<EncodedPage> {
  for (let i = 1; i <= n; i++) yield { data: Buffer.alloc(0), count: size, cursor: i * size };
}

describe('rows read, counted in the page transactions', () => {
  it('a page read ahead while the current one is written counts with the current commit; a stop un-counts it', async () => {
    const tally = new ReadTally();
    const it = prefetch(tally.counting(pages(3, 100)))[Symbol.asyncIterator]();
    const first = await it.next();
    tally.written(first.value!.count);
    await tick(); // the read of page 2 (already started by prefetch) finishes while page 1 is written
    // Page 1's transaction counts page 1 and page 2: a worker killed while writing page 2 leaves it counted, so
    // the retry's re-read of it shows up as rows_read - rows_committed.
    expect(tally.unreported()).toBe(200);
    tally.committed(200);
    // Stopping here (budget, cancel, a failure the process survives): page 2 was never written, so it comes off again.
    expect(tally.correction()).toBe(-100);
    const second = await it.next();
    tally.written(second.value!.count);
    await tick();
    expect(tally.unreported()).toBe(100); // page 3, read ahead
    // Page 2's transaction fails: page 2 was begun and counted already; page 3 was not begun.
    expect(tally.correction()).toBe(0);
    await it.return(undefined);
  });

  it('a page whose transaction rolled back is counted at the stop, as the page the attempt was writing', async () => {
    const tally = new ReadTally();
    const it = prefetch(tally.counting(pages(1, 50)))[Symbol.asyncIterator]();
    const only = await it.next();
    tally.written(only.value!.count);
    // Its transaction never commits (tally.committed is not called): the stop adds it.
    expect(tally.correction()).toBe(50);
    await it.return(undefined);
  });
});
