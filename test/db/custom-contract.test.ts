import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig } from '../../src/load-config';
import { defineSink } from '../../src/sinks/define-sink';
import { registerSink } from '../../src/sinks/registry';
import { defineSource, type SimpleSource } from '../../src/sources/define-source';
import { registerSource } from '../../src/sources/registry';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// What a custom source or sink can get wrong, found by an acceptance run: each one used to loop forever, end early,
// write NULLs or claim dead letters it never kept; each must now fail at once (non-retryable), saying what to fix.
let dst: TestDatabase;
const items = Array.from({ length: 112 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
const columns = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'name', type: 'text' },
];

/** An API of `items` after an id, at most `cap` a request; `misbehave` bends the cursor or the records. */
function api(cap: number, misbehave?: (page: typeof items, after: number | null, call: number) => { records: Record<string, unknown>[]; cursor: unknown; done?: boolean }): SimpleSource {
  let call = 0;
  return {
    columns,
    async read(after, limit) {
      const page = items.filter((x) => x.id > Number(after ?? 0)).slice(0, Math.min(limit, cap));
      call++;
      if (misbehave && page.length) return misbehave(page, after as number | null, call) as never;
      return { records: page, cursor: page.length ? page[page.length - 1]!.id : after };
    },
  };
}

beforeAll(async () => {
  dst = await createTestDatabase('custom_contract');
  registerSource('capped', defineSource(() => api(25)));
  registerSource('stuck', defineSource(() => api(10, (page) => ({ records: page, cursor: 0 }))));
  registerSource('backwards', defineSource(() => api(10, (page, after, call) => ({ records: page, cursor: call === 3 ? 10 : page[page.length - 1]!.id }))));
  registerSource('nullcursor', defineSource(() => api(10, (page) => ({ records: page, cursor: null }))));
  registerSource('renamed', defineSource(() => api(10, (page) => ({ records: page.map((x) => ({ id: x.id, nme: x.name, extra: 1 })), cursor: page[page.length - 1]!.id }))));
  registerSource('sparse', defineSource(() => api(10, (page) => ({ records: page.map((x) => (x.id % 2 ? { id: x.id } : x)), cursor: page[page.length - 1]!.id }))));
  // `since` inclusive: the record at the cursor comes back first; the last page is that record alone, cursor unchanged.
  registerSource('inclusive', defineSource(() => ({
    columns,
    async read(after: unknown, limit: number) {
      const page = items.filter((x) => x.id >= Number(after ?? 0)).slice(0, limit);
      return { records: page, cursor: page.length ? page[page.length - 1]!.id : after };
    },
  }) as never));
  registerSource('first-only', defineSource(() => api(10, (page) => ({ records: page, cursor: page[page.length - 1]!.id, done: true }))));
  registerSource('not-a-source', defineSource(() => ({ hello: 1 }) as never));
  registerSink(
    'evens',
    defineSink((options) => ({
      kind: 'evens',
      commitsWithCheckpoint: 'the dead letters of odd ids',
      async close() {},
      async prepare() {},
      async write(tx, page, ctx) {
        const odd = page.rows.filter((r) => Number(r[0]) % 2 === 1);
        if (options.keep) await ctx.refuse?.(odd.map((r) => ({ record: { id: r[0], name: r[1] }, reason: 'odd ids are refused' })));
        return { written: page.rows.length - odd.length, refused: odd.length };
      },
    })),
  );
});
afterAll(async () => {
  await dst?.drop();
});

function run(kind: string, sink: Record<string, unknown> = { url: '${DST_URL}', table: `public.${kind.replaceAll('-', '_')}`, key: ['id'], create: true }, batchSize = 100): Promise<RunResult> {
  const config = parseConfig({ integrations: [{ id: kind, source: { kind }, sink, batchSize }] });
  const acts = createActivities({ config: () => config, env: { DST_URL: dst.url } });
  return new MockActivityEnvironment().run(acts.runIntegration, { integration: kind, mode: 'backfill', runKey: `contract/${kind}/${Math.random()}` } satisfies RunInput) as Promise<RunResult>;
}

describe('custom sources: the contract, enforced', () => {
  it('an API capping its pages below the batch size is read to its end (a short page is not the last one)', async () => {
    expect(await run('capped')).toMatchObject({ rows: 112, done: true, cursor: 112 });
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM public.capped')).toEqual([{ n: '112' }]);
  });

  it('done: true ends the run after that page; so does a short page that did not move the cursor (an API whose since is inclusive)', async () => {
    expect(await run('first-only')).toMatchObject({ rows: 10, done: true, cursor: 10 });
    expect(await run('inclusive')).toMatchObject({ rows: 112 + 2, done: true, cursor: 112 });
  });

  it('a cursor that does not move over full pages, moves backwards or is null fails the run at once instead of reading forever', async () => {
    const table = (kind: string) => ({ url: '${DST_URL}', table: `public.${kind}`, key: ['id'], create: true });
    await expect(run('stuck', table('stuck'), 10)).rejects.toMatchObject({ nonRetryable: true, type: 'SourceContractError', message: expect.stringMatching(/stuck source: read\(\) returned the cursor 0 for 6 pages in a row: the cursor must move past the records it returns/) });
    await expect(run('backwards', table('backwards'), 10)).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/backwards source: read\(\) returned the cursor 10, which this run had passed already \(after 20\)/) });
    await expect(run('nullcursor', table('nullcursor'), 10)).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/nullcursor source: read\(\) returned 10 record\(s\) with a null cursor .*return the cursor of the last record/) });
  });

  it('records without a declared column are said in a warning naming what they carry (once a run); a column some records leave out is NULL there', async () => {
    expect(await run('renamed')).toMatchObject({
      rows: 112,
      done: true,
      warnings: [
        'renamed source: no record of a page of 10 has the field(s) name declared in columns, written as NULL; the records carry nme, extra instead (a misspelt name?): return every declared column in each record, null when it has no value',
      ],
    });
    expect(await run('sparse')).toMatchObject({ rows: 112, done: true });
    expect((await run('sparse')).warnings).toBeUndefined();
    expect(await sql(dst.url, 'SELECT count(name)::text AS n FROM public.sparse')).toEqual([{ n: '56' }]);
  });

  it('a factory that returns something else than a source fails at once, saying what it returned', async () => {
    await expect(run('not-a-source')).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/not-a-source source: its factory must return \{ columns, read \} \(defineSource\) or a Source with prepare\(\) and pages\(\), found an object with hello/) });
  });
});

describe('custom sinks: refused records are dead letters', () => {
  it('records refused through ctx.refuse are kept as dead letters of the run; a count without them fails the run', async () => {
    const kept = await run('capped', { kind: 'evens', stateUrl: '${DST_URL}', keep: true });
    expect(kept).toMatchObject({ rows: 112, done: true, rejected: 56 });
    expect(await sql(dst.url, `SELECT count(*)::text AS n, min(reason) AS reason FROM tidemark.dead_letters WHERE integration = 'capped'`)).toEqual([{ n: '56', reason: 'odd ids are refused' }]);
    await expect(run('capped', { kind: 'evens', stateUrl: '${DST_URL}' })).rejects.toMatchObject({
      nonRetryable: true,
      message: expect.stringMatching(/sink kind "evens": write\(\) returned refused: 13 but kept 0 record\(s\) as dead letters: pass each refused record to ctx\.refuse/),
    });
  });
});
