import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev';
import { runCli } from '../helpers/cli';

// User modules (source, sink, mapping) that cannot serve are refused before anything starts: an acceptance run saw the
// run start, fail, and leave a run row and a checkpoint, with Node's require stack of tidemark's files in the error.
let cwd: string;
let deadTemporal: string;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tm-modules-'));
  writeFileSync(join(cwd, 'wrong-sink.js'), 'module.exports = { hello: "world" };\n');
  writeFileSync(join(cwd, 'throws.js'), 'throw new Error("boom at import");\n');
  writeFileSync(join(cwd, 'good-source.js'), 'module.exports = () => ({ columns: [{ name: "id", type: "text" }], read: async () => ({ records: [], cursor: null }) });\n');
  const pg = 'source: {kind: postgres, url: "${SRC}", table: public.orders, cursor: [updated_at, id]}';
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    [
      'integrations:',
      '  - id: missing-source',
      '    source: {kind: fake-orders, module: ./modules/nope.js}',
      '    sink: {table: public.a, key: [id]}',
      '    schedule: {every: 5m}',
      '  - id: wrong-sink',
      '    source: {kind: fine, module: ./good-source.js}',
      '    sink: {kind: warehouse, module: ./wrong-sink.js, stateUrl: "${DB}"}',
      '  - id: throwing-mapping',
      `    ${pg}`,
      '    sink: {table: public.c, key: [id]}',
      '    mapping: {module: ./throws.js}',
      '    schedule: {every: 5m}',
      '  - id: fine',
      '    source: {kind: fine, module: ./good-source.js}',
      '    sink: {table: public.d, key: [id]}',

      '',
    ].join('\n'),
  );
  deadTemporal = `127.0.0.1:${await freePort()}`;
});

describe('user modules checked before anything starts', () => {
  it('sync / backfill refuse a module file that does not exist, naming the field; no require stack; Temporal is not even asked', async () => {
    const r = await runCli(['backfill', 'missing-source'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/integrations\[missing-source\]\.source\.module: .*modules\/nope\.js cannot be found \(Cannot find module '.*modules\/nope\.js'/);
    expect(r.stderr).not.toMatch(/Require stack|cannot reach Temporal/);
    const s = await runCli(['sync', 'missing-source'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/source\.module: .*nope\.js cannot be found/);
    // The CLI runs no module's code (it may need the workers' environment): these exist, so the command goes on to
    // Temporal (not answering here); the worker refuses them (below).
    for (const id of ['wrong-sink', 'throwing-mapping']) {
      const ok = await runCli(['backfill', id], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
      expect(ok.stderr).not.toContain('.module:');
      expect(ok.stderr).not.toContain('boom at import');
    }
  });

  it('the worker refuses to start, naming every bad module; schedule apply names the scheduled ones', async () => {
    const w = await runCli(['worker'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(w.code).toBe(2);
    for (const field of ['missing-source].source.module', 'wrong-sink].sink.module', 'throwing-mapping].mapping.module']) expect(w.stderr).toContain(`integrations[${field}`);
    expect(w.stderr).not.toContain('integrations[fine]');
    expect(w.stderr).toMatch(/sink\.module .*wrong-sink\.js must export a sink factory/);
    expect(w.stderr).toMatch(/mapping\.module .*throws\.js cannot be loaded: boom at import/);
    const a = await runCli(['schedule', 'apply'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('integrations[missing-source].source.module');
    expect(a.stderr).not.toContain('throwing-mapping'); // its file exists: the worker loads it
  });
});
