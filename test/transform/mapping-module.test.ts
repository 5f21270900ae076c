import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, resolveMappingModule, type Config } from '../../src/config';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });
const dir = mkdtempSync(join(tmpdir(), 'tm-map-'));
const defineMapping = resolve(__dirname, '../../src/transform/define-mapping');

// A TypeScript module: typed values in (numbers, booleans, parsed JSON), one, two or no rows out, errors per record.
writeFileSync(
  join(dir, 'split-lines.ts'),
  `import { defineMapping } from ${JSON.stringify(defineMapping)};
interface Line { sku: string; qty: number }
export default defineMapping({
  columns: { order_id: 'bigint', line: 'integer', sku: 'text', qty: 'integer', paid: 'boolean', meta: 'jsonb' },
  map(r) {
    const id = r.id as number;
    if (id % 10 === 0) return null;                                  // skipped: not written, not a dead letter
    if (id % 7 === 0) throw new Error('order ' + id + ' has no lines');
    if (id === 11) return { order_id: id, colour: 'red' };           // a column the target does not have
    if (id === 13) return { order_id: id, line: 1, qty: 'many' };   // a value the column type cannot hold
    const lines = (r.lines as Line[]).map((l: Line, i: number) => ({ order_id: id, line: i + 1, sku: l.sku.toUpperCase(), qty: l.qty, paid: r.paid, meta: { source: 'shop', total: r.total } }));
    return lines;
  },
});
`,
);
// A plain function (CommonJS .js): the target keeps the source's columns.
writeFileSync(join(dir, 'upper.js'), `module.exports = (r) => ({ ...r, note: typeof r.note === 'string' ? r.note.toUpperCase() : r.note });\n`);

function config(id: string, module: string, table: string, key: string[]): Config {
  return parseConfig({
    integrations: [
      {
        id,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'], lag: '0s' },
        sink: { kind: 'postgres', url: '${DST_URL}', table, key, create: true },
        batchSize: 40,
        mapping: { module },
      },
    ],
  });
}

async function run(cfg: Config, runKey: string): Promise<RunResult> {
  const acts = createActivities({ config: () => cfg, env: vars() });
  const input: RunInput = { integration: cfg.integrations[0]!.id, mode: 'backfill', runKey };
  return (await new MockActivityEnvironment().run(acts.runIntegration, input)) as RunResult;
}

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('mod_src'), createTestDatabase('mod_dst')]);
  await sql(
    src.url,
    `CREATE TABLE public.orders (id bigint PRIMARY KEY, paid boolean, total numeric(10,2), lines jsonb, note text, updated_at timestamptz NOT NULL);
     CREATE INDEX ON public.orders (updated_at, id);
     INSERT INTO public.orders
     SELECT g, g % 2 = 0, g * 1.5, jsonb_build_array(jsonb_build_object('sku', 'a' || g, 'qty', 1), jsonb_build_object('sku', 'b' || g, 'qty', 2)),
            'note ' || g, '2024-01-01'::timestamptz + g * interval '1 second'
       FROM generate_series(1, 100) g`,
  );
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('mapping.module: a TypeScript function per record', () => {
  it('maps each record to zero, one or more target rows; errors per record go to dead letters and the run goes on', async () => {
    const cfg = config('lines', join(dir, 'split-lines.ts'), 'public.order_lines', ['order_id', 'line']);
    expect(await run(cfg, 'm/1')).toMatchObject({ rows: 100, done: true });
    expect(await sql(dst.url, `SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'order_lines' ORDER BY ordinal_position`)).toEqual([
      { c: 'order_id', t: 'bigint' },
      { c: 'line', t: 'integer' },
      { c: 'sku', t: 'text' },
      { c: 'qty', t: 'integer' },
      { c: 'paid', t: 'boolean' },
      { c: 'meta', t: 'jsonb' },
    ]);
    // 100 orders: 10 skipped (id % 10), 13 thrown (id % 7, not % 10), ids 11 and 13 rejected: 75 orders × 2 lines.
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM public.order_lines`)).toEqual([{ n: '150' }]);
    expect(await sql(dst.url, `SELECT order_id::text, line, sku, qty, paid, meta FROM public.order_lines WHERE order_id = 3 ORDER BY line`)).toEqual([
      { order_id: '3', line: 1, sku: 'A3', qty: 1, paid: false, meta: { source: 'shop', total: 4.5 } },
      { order_id: '3', line: 2, sku: 'B3', qty: 2, paid: false, meta: { source: 'shop', total: 4.5 } },
    ]);
    const letters = await sql<{ reason: string; record: Record<string, unknown> }>(dst.url, `SELECT reason, record FROM tidemark.dead_letters WHERE integration = 'lines' ORDER BY (record->>'id')::int`);
    expect(letters).toHaveLength(15);
    expect(letters[0]).toMatchObject({ reason: 'mapping.module threw: order 7 has no lines', record: { id: '7' } });
    expect(letters.find((l) => l.record.id === '11')?.reason).toBe(
      'mapping.module returned column "colour", which the target does not have (columns: order_id, line, sku, qty, paid, meta): declare it in defineMapping({ columns })',
    );
    expect(letters.find((l) => l.record.id === '13')?.reason).toBe('qty: mapping.module returned a string ("many"), but the column is integer');
    expect(await sql(dst.url, `SELECT rows_rejected::text, status FROM tidemark.runs WHERE integration = 'lines'`)).toEqual([{ rows_rejected: '15', status: 'completed' }]);

    // --retry with a fixed module: the letters go through it again, each giving its two lines.
    writeFileSync(join(dir, 'fixed.ts'), `export default { columns: { order_id: 'bigint', line: 'integer', sku: 'text' }, map: (r: Record<string, unknown>) => [1, 2].map((line) => ({ order_id: r.id, line, sku: 'retried' })) };\n`);
    const retry = await retryDeadLetters(config('lines', join(dir, 'fixed.ts'), 'public.order_lines', ['order_id', 'line']).integrations[0]!, vars());
    expect(retry).toMatchObject({ pending: 15, written: 30, stillFailing: [] });
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM public.order_lines WHERE sku = 'retried'`)).toEqual([{ n: '30' }]);
  });

  it('--retry settles a letter whose record now maps to no row (a module that skips it): marked retried, not pending for good', async () => {
    expect(await run(config('skips', join(dir, 'split-lines.ts'), 'public.skip_lines', ['order_id', 'line']), 'm/skip')).toMatchObject({ done: true });
    writeFileSync(join(dir, 'skip-all.ts'), `export default { columns: { order_id: 'bigint', line: 'integer', sku: 'text' }, map: () => null };\n`);
    const retry = await retryDeadLetters(config('skips', join(dir, 'skip-all.ts'), 'public.skip_lines', ['order_id', 'line']).integrations[0]!, vars());
    expect(retry).toMatchObject({ pending: 15, written: 0, superseded: 0, stillFailing: [] });
    expect(await sql(dst.url, `SELECT count(*)::int AS n FROM tidemark.dead_letters WHERE integration = 'skips' AND retried_at IS NULL`)).toEqual([{ n: 0 }]);
  });

  it('a plain function keeps the source columns', async () => {
    expect(await run(config('upper', join(dir, 'upper.js'), 'public.orders_upper', ['id']), 'm/2')).toMatchObject({ rows: 100, done: true });
    expect(await sql(dst.url, `SELECT id::text, paid, total::text, note FROM public.orders_upper WHERE id = 5`)).toEqual([{ id: '5', paid: false, total: '7.50', note: 'NOTE 5' }]);
  });

  it('a relative module path is made absolute against the config file (for loadConfig); a column named module stays a rename', () => {
    const mapping = { module: './maps/map.ts' };
    resolveMappingModule(mapping, '/etc/tidemark');
    expect(mapping.module).toBe('/etc/tidemark/maps/map.ts');
    const rename = { id: 'id', module: 'module_name' };
    resolveMappingModule(rename, '/etc/tidemark');
    expect(rename.module).toBe('module_name');
    expect(parseConfig({ integrations: [{ id: 'r', source: { kind: 'postgres', url: 'postgres://x', table: 't', cursor: ['id'] }, sink: { url: 'postgres://y', table: 't', key: ['id'] }, mapping: rename }] }).integrations[0]!.mapping).toEqual(rename);
  });

  it('a module that cannot be loaded fails the run at once, naming it, before anything is written', async () => {
    const missing = join(dir, 'missing.ts');
    await expect(run(config('missing', missing, 'public.never', ['id']), 'm/3')).rejects.toMatchObject({
      nonRetryable: true,
      type: 'MappingModuleError',
      message: expect.stringContaining(`mapping.module ${missing} cannot be loaded`),
    });
    writeFileSync(join(dir, 'nothing.js'), 'module.exports = { value: 1 };\n');
    await expect(run(config('nothing', join(dir, 'nothing.js'), 'public.never', ['id']), 'm/4')).rejects.toMatchObject({
      type: 'MappingModuleError',
      message: expect.stringContaining('must export a function (record) => record | record[] | null, or defineMapping({ columns, map })'),
    });
    expect(await sql(dst.url, `SELECT to_regclass('public.never')::text AS t`)).toEqual([{ t: null }]);
  });
});
