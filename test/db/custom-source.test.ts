import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { ConfigError, loadConfig, parseConfig } from '../../src/config';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let dst: TestDatabase;
let cwd: string;

beforeAll(async () => {
  dst = await createTestDatabase('custom_dst');
  cwd = mkdtempSync(join(tmpdir(), 'tm-custom-'));
  const module = join(__dirname, '..', 'fixtures', 'counter-source.js');
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    `integrations:\n  - id: counter\n    source: {kind: counter, module: "${module}", total: 2500}\n` +
      '    sink: {url: "${DST_URL}", table: public.counted, key: [id], create: true}\n    batchSize: 1000\n',
  );
});
afterAll(async () => {
  await dst?.drop();
});

function run(input: Partial<RunInput>, env = new MockActivityEnvironment()): Promise<RunResult> {
  const acts = createActivities({ config: () => loadConfig(undefined, cwd), env: { DST_URL: dst.url } });
  const full: RunInput = { integration: 'counter', mode: 'backfill', runKey: 'c/1', ...input };
  return env.run(acts.runIntegration, full) as Promise<RunResult>;
}

describe('custom sources (source.module)', () => {
  it('a module source runs like a built-in one: typed columns created, checkpoints, the final cursor', async () => {
    const r = await run({});
    expect(r).toEqual({ cursor: 2500, rows: 2500, done: true });
    expect(await sql(dst.url, `SELECT count(*)::text AS n, max(id)::text AS m FROM public.counted`)).toEqual([{ n: '2500', m: '2500' }]);
    expect(await sql(dst.url, `SELECT payload->>'n' AS n, jsonb_typeof(payload) AS t FROM public.counted WHERE id = 7`)).toEqual([{ n: '7', t: 'object' }]);
    expect(await sql(dst.url, `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'public.counted'::regclass AND attname = 'id'`)).toEqual([{ t: 'bigint' }]);
  });

  it('resumes from its own cursor shape and validates cursors from outside', async () => {
    const r = await run({ runKey: 'c/2', from: 2000 });
    expect(r).toEqual({ cursor: 2500, rows: 500, done: true });
    await expect(run({ runKey: 'c/3', from: 'x' })).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidCursorError', message: expect.stringMatching(/^from: invalid cursor .*counter cursor must be an integer/) });
  });

  it('a relative module path in a config built in code means the current directory (not tidemark\'s own folder)', async () => {
    const rel = `./${relative(process.cwd(), join(__dirname, '..', 'fixtures', 'counter-source.js'))}`;
    const cfg = parseConfig({ integrations: [{ id: 'relative', source: { kind: 'counter', module: rel, total: 30 }, sink: { url: '${DST_URL}', table: 'public.counted_rel', key: ['id'], create: true } }] });
    const acts = createActivities({ config: () => cfg, env: { DST_URL: dst.url } });
    const input: RunInput = { integration: 'relative', mode: 'backfill', runKey: 'c/rel' };
    expect(await new MockActivityEnvironment().run(acts.runIntegration, input)).toMatchObject({ rows: 30, done: true });
  });

  it('a TypeScript module loads as a mapping module does (through tsx), not with "Unexpected identifier" (an acceptance run)', async () => {
    const file = join(cwd, 'typed-source.ts');
    writeFileSync(
      file,
      `type Cur = number | null;\nexport default (options: Record<string, unknown>) => ({\n  columns: [{ name: 'id', type: 'bigint', notNull: true }],\n` +
        `  async read(after: Cur, limit: number) {\n    const n = Number(options.total);\n    const records: { id: number }[] = [];\n` +
        `    for (let i = (after ?? 0) + 1; i <= n && records.length < limit; i++) records.push({ id: i });\n    return { records, cursor: records.at(-1)?.id ?? after };\n  },\n});\n`,
    );
    const cfg = parseConfig({ integrations: [{ id: 'typed', source: { kind: 'typed', module: file, total: 42 }, sink: { url: '${DST_URL}', table: 'public.typed', key: ['id'], create: true } }] });
    const acts = createActivities({ config: () => cfg, env: { DST_URL: dst.url } });
    expect(await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'typed', mode: 'backfill', runKey: 'c/ts' } satisfies RunInput)).toMatchObject({ rows: 42, done: true, cursor: 42 });
  });

  it('an unknown kind without a module is a config error naming the field; a broken module fails clearly', async () => {
    expect(() => parseConfig({ integrations: [{ id: 'x', source: { kind: 'salesforce' }, sink: { table: 't', key: ['id'] } }] })).toThrow(ConfigError);
    expect(() => parseConfig({ integrations: [{ id: 'x', source: { kind: 'salesforce' }, sink: { table: 't', key: ['id'] } }] })).toThrow(
      /integrations\[0\]\.source\.kind: unknown source kind "salesforce": use postgres | http | csv, or set source.module/,
    );
    const broken = createActivities({
      config: () => parseConfig({ integrations: [{ id: 'x', source: { kind: 'nope', module: '/does/not/exist.js' }, sink: { url: dst.url, table: 't', key: ['id'] } }] }),
    });
    const input: RunInput = { integration: 'x', mode: 'backfill', runKey: 'c/4' };
    await expect(new MockActivityEnvironment().run(broken.runIntegration, input)).rejects.toMatchObject({
      nonRetryable: true,
      type: 'SourceModuleError',
      message: expect.stringContaining('source.module /does/not/exist.js (kind "nope") cannot be loaded'),
    });
  });
});
