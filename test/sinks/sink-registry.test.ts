import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config';
import { parseConfig } from '../../src/load-config';
import { defineSink, type SinkContext } from '../../src/sinks/define-sink';
import { registerSink, registeredSinkKinds, sinkFactory, SinkModuleError } from '../../src/sinks/registry';
import type { Sink } from '../../src/sinks/sink';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { stateClient } from './helpers';

const ctx: SinkContext = { integration: 'custom', env: (v) => v, stateDbUrl: 'postgres://unused' };

/** A custom sink: records into a table of the state database, in the caller's transaction. */
const tableSink = defineSink((options): Sink => ({
  kind: 'audit',
  commitsWithCheckpoint: `the page's rows in ${String(options.table)}`,
  prepare: async () => undefined,
  write: async (tx: pg.Client, page) => {
    await tx.query(`INSERT INTO ${String(options.table)} (v) SELECT unnest($1::text[])`, [page.rows.map((r) => r[0])]);
    return { written: page.rows.length, refused: 0 };
  },
  close: async () => undefined,
}));

let db: TestDatabase;
let state: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase('sink_registry');
  state = await stateClient(db.url);
  await state.query('CREATE TABLE audit (v text)');
});
afterAll(async () => {
  await state?.end();
  await db?.drop();
});

describe('sink contract and registry', () => {
  it('a registered sink writes in the caller\'s transaction: rolled back with it, committed with it', async () => {
    registerSink('audit', tableSink);
    expect(registeredSinkKinds()).toContain('audit');
    const sink = await sinkFactory('audit', undefined)({ table: 'audit' }, ctx);
    await sink.prepare([{ name: 'v', type: 'text', notNull: false }]);
    await state.query('BEGIN');
    await sink.write(state, { rows: [['a'], ['b']], cursor: 1 }, { integration: 'custom', runId: 'r' });
    await state.query('ROLLBACK');
    await state.query('BEGIN');
    const r = await sink.write(state, { rows: [['c']], cursor: 2 }, { integration: 'custom', runId: 'r' });
    await state.query('COMMIT');
    expect(r).toEqual({ written: 1, refused: 0 });
    expect((await state.query('SELECT v FROM audit')).rows).toEqual([{ v: 'c' }]);
    expect(sink.commitsWithCheckpoint).toBe("the page's rows in audit");
  });

  it('loads sink.module, and says how to fix a kind it cannot find', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-sink-'));
    const file = join(dir, 'my-sink.js');
    writeFileSync(file, "module.exports = { sink: (o) => ({ kind: 'mine', commitsWithCheckpoint: 'nothing', prepare: async () => {}, write: async () => ({ written: 0, refused: 0 }), close: async () => {} }) };");
    const sink = await sinkFactory('mine', file)({}, ctx);
    expect(sink.kind).toBe('mine');
    expect(() => sinkFactory('nope', undefined)).toThrow(SinkModuleError);
    expect(() => sinkFactory('nope', undefined)).toThrow(/not registered in this worker.*registerSink\("nope", …\).*sink\.module/);
    const bad = join(dir, 'bad.js');
    writeFileSync(bad, 'module.exports = { sink: 42 };');
    expect(() => sinkFactory('bad', bad)).toThrow(/must export a sink factory \(export default defineSink\(…\)\), found number/);
    expect(() => sinkFactory('gone', join(dir, 'missing.js'))).toThrow(/cannot be loaded/);
  });

  it('config accepts a sink kind only when built in, registered in this process, or given a module', () => {
    const entry = (sink: Record<string, unknown>) => ({ integrations: [{ id: 'a', source: { kind: 'postgres', url: 'postgres://x', table: 'public.t', cursor: ['id'] }, sink }] });
    const refused = (() => {
      try {
        parseConfig(entry({ kind: 'mysql', url: 'postgres://x', table: 't', key: ['id'] }));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).message).toMatch(/integrations\[0\]\.sink\.kind: unknown sink kind "mysql": use postgres \| http, or set sink\.module to a module that exports a sink \(defineSink\)/);
    expect(parseConfig(entry({ kind: 'mysql', module: '/abs/mysql-sink.js', stateUrl: 'postgres://s' })).integrations[0]!.sink.kind).toBe('mysql');
    registerSink('ledger-audit', tableSink);
    expect(parseConfig(entry({ kind: 'ledger-audit', table: 'audit' })).integrations[0]!.sink.kind).toBe('ledger-audit');
  });
});
