import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSource } from '../../src/sources/define-source';
import { registerSource } from '../../src/sources/registry';
import { createTestKit, type TestKit } from '../../src/testing';
import { sql } from '../helpers/fixtures';

// A custom source registered in code (a worker you start yourself), tested through the real
// workflows with the test kit: an "API" of events paged by an opaque token.
const events = Array.from({ length: 1234 }, (_, i) => ({ id: `evt_${String(i + 1).padStart(5, '0')}`, kind: i % 3 ? 'click' : 'view', at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)) }));
let reads = 0;

registerSource(
  'events',
  defineSource(() => ({
    columns: [
      { name: 'id', type: 'text', notNull: true },
      { name: 'kind', type: 'text' },
      { name: 'at', type: 'timestamptz' },
    ],
    async read(after, limit) {
      reads++;
      const start = after === null ? 0 : events.findIndex((e) => e.id === after) + 1;
      const page = events.slice(start, start + limit);
      return { records: page, cursor: page.length ? page[page.length - 1]!.id : after };
    },
  })),
);

let kit: TestKit;
let sink: string;

beforeAll(async () => {
  kit = await createTestKit({
    config: { integrations: [{ id: 'events', source: { kind: 'events' }, sink: { url: '${SINK}', table: 'public.events', key: ['id'], create: true }, batchSize: 100 }] },
  });
  sink = await kit.createDatabase('events_sink');
  kit.setEnv({ SINK: sink });
}, 120_000);
afterAll(async () => {
  await kit?.teardown();
});

describe('a registered custom source through the test kit', () => {
  it('backfills page by page, then a sync finds nothing new', async () => {
    expect(await kit.backfill('events')).toEqual({ cursor: 'evt_01234', rows: 1234, done: true });
    expect(reads).toBe(14); // 12 full pages, one short and an empty one that ends the run: never all at once
    expect(await sql(sink, `SELECT count(*)::text AS n, min(at)::text AS first FROM public.events`)).toEqual([{ n: '1234', first: '2024-01-01 00:00:00+00' }]);
    expect(await kit.sync('events')).toMatchObject({ rows: 0, done: true });
    const runs = await kit.runs('events', sink);
    expect(runs.map((r) => [r.kind, r.status, r.rows_committed])).toEqual([
      ['sync', 'completed', '0'],
      ['backfill', 'completed', '1234'],
    ]);
  });
});
