import { describe, expect, it } from 'vitest';
import { startEarly } from '../../src/sources/combinators/start-early';

/** Pages 1..n; `log` records when the source starts a read and when it is closed. */
async function* source(n: number, log: string[], failAt?: number): AsyncGenerator<number> {
  try {
    for (let i = 1; i <= n; i++) {
      log.push(`read ${i}`);
      await new Promise((r) => setTimeout(r, 5));
      if (i === failAt) throw new Error(`read ${i} failed`);
      yield i;
    }
  } finally {
    log.push('closed');
  }
}

describe('startEarly: the first read starts when the pages are made, not when first asked for', () => {
  it('starts the first read at once, then yields every page in order', async () => {
    const log: string[] = [];
    const pages = startEarly(source(3, log));
    expect(log).toEqual(['read 1']);
    const got: number[] = [];
    for await (const p of pages) got.push(p);
    expect(got).toEqual([1, 2, 3]);
    expect(log).toEqual(['read 1', 'read 2', 'read 3', 'closed']);
  });

  it('a failed first read surfaces where it is asked for, not as an unhandled rejection', async () => {
    const log: string[] = [];
    const pages = startEarly(source(3, log, 1));
    await new Promise((r) => setTimeout(r, 20)); // the read has failed by now, with nobody awaiting it
    await expect(
      (async () => {
        for await (const p of pages) expect(p).toBeUndefined();
      })(),
    ).rejects.toThrow('read 1 failed');
    expect(log).toEqual(['read 1', 'closed']);
  });

  it('close(): the read in flight settles and the source is closed; stopping early closes it too', async () => {
    const log: string[] = [];
    await startEarly(source(3, log)).close();
    expect(log).toEqual(['read 1', 'closed']);
    const log2: string[] = [];
    for await (const p of startEarly(source(3, log2))) if (p === 2) break;
    expect(log2).toEqual(['read 1', 'read 2', 'closed']);
  });
});
