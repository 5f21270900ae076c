import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, type Template } from '../../src/config';
import { instantiate } from '../../src/instances';
import { confinedPath } from '../../src/sources/csv/confined-path';
import { CsvFile } from '../../src/sources/csv/csv-file';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { csvConfig, resetTarget, runCsv, tempDir } from './csv-helpers';

// A security acceptance run: a tenant who can write to its own upload directory linked its file to another
// tenant's (stored under its own id) and to /proc/self/environ (the worker's secrets quoted in the header error).
let dst: TestDatabase;
let up: string;

beforeAll(async () => {
  dst = await createTestDatabase('csv_confine');
  up = tempDir('tm-csv-up-');
  for (const t of ['acme', 'globex', 'evil', 'fine']) mkdirSync(join(up, t));
  writeFileSync(join(up, 'globex', 'orders.csv'), 'id,name\n1,globex private data\n');
  symlinkSync(join(up, 'globex', 'orders.csv'), join(up, 'acme', 'orders.csv'));
  symlinkSync('/proc/self/environ', join(up, 'evil', 'orders.csv'));
  writeFileSync(join(up, 'fine', 'export-2026-12-03.csv'), 'id,name\n7,fine data\n');
  symlinkSync('export-2026-12-03.csv', join(up, 'fine', 'orders.csv')); // a link inside the tenant's own directory
});
afterAll(async () => {
  await dst?.drop();
});
beforeEach(async () => {
  await resetTarget(dst.url);
});

const template = (path: string): Template =>
  parseConfig({ integrations: [{ id: 'files', template: true, source: { kind: 'csv', path }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.items', key: ['id'], create: true } }] }).templates![0]!;

describe('a CSV file is read where its path resolves, inside its directory', () => {
  it("an instance's path is confined to the instance's directory (or file), as the template names it", () => {
    const at = (path: string) => (instantiate(template(path), { instanceId: 'acme', params: {}, secrets: {} }, {}).integration.source as { within?: string }).within;
    expect(at(`${up}/\${instance.id}/orders.csv`)).toBe(join(up, 'acme'));
    expect(at(`${up}/\${instance.id}.csv`)).toBe(join(up, 'acme.csv'));
    expect(at(`${up}/shared/orders.csv`)).toBeUndefined();
    // A region before the id names a folder the region's tenants share: the id's segment confines.
    const regional = instantiate(template(`${up}/\${instance.region}/\${instance.id}/orders.csv`), { instanceId: 'acme', params: { region: 'eu' }, secrets: {} }, {});
    expect((regional.integration.source as { within?: string }).within).toBe(join(up, 'eu', 'acme'));
  });

  it('a relative within is read from the config file, like the path', () => {
    const dir = tempDir('tm-csv-cfg-');
    const file = join(dir, 'tidemark.yaml');
    writeFileSync(file, 'integrations:\n  - id: f\n    source: { kind: csv, path: data/orders.csv, within: data }\n    sink: { url: "${DST_URL}", table: copy.items, key: [id] }\n');
    expect(loadConfig(file).integrations[0]!.source).toMatchObject({ path: join(dir, 'data', 'orders.csv'), within: join(dir, 'data') });
  });

  it("a link to another tenant's file or to /proc fails the run, naming both paths; nothing is written; a link inside the directory reads", async () => {
    const run = (tenant: string) => runCsv(dst.url, csvConfig({ path: join(up, tenant, 'orders.csv'), within: join(up, tenant) }), { runKey: `confine/${tenant}/${Math.random()}` });
    await expect(run('acme')).rejects.toMatchObject({ type: 'CsvFileError', nonRetryable: true, message: `source.path ${join(up, 'acme', 'orders.csv')} resolves to ${join(up, 'globex', 'orders.csv')}, outside ${join(up, 'acme')} (source.within): a symlink may not lead a run out of its directory` });
    const evil = (await run('evil').catch((e: unknown) => e)) as Error;
    expect(evil).toMatchObject({ type: 'CsvFileError', message: `source.path ${join(up, 'evil', 'orders.csv')} resolves to /proc/${process.pid}/environ, a system file, not a CSV file: refused` });
    expect(evil.message).not.toMatch(/DST_URL|PATH=/);
    expect(await sql(dst.url, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'copy'`)).toEqual([{ n: 0 }]);
    await expect(run('fine')).resolves.toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, 'SELECT id::text, name FROM copy.items')).toEqual([{ id: '7', name: 'fine data' }]);
  });

  it('without within, a link to /proc is still refused; a file made a link after the check is not followed', async () => {
    await expect(confinedPath(join(up, 'evil', 'orders.csv'))).rejects.toThrow(/a system file, not a CSV file: refused/);
    const path = join(up, 'fine', 'swap.csv');
    writeFileSync(path, 'id,name\n1,a\n');
    const real = await confinedPath(path);
    renameSync(path, `${path}.old`);
    symlinkSync(join(up, 'globex', 'orders.csv'), path);
    await expect(CsvFile.open(real, { delimiter: ',', quote: '"', encoding: 'utf8' }, 'acme')).rejects.toThrow(/was replaced by a symlink after the run resolved it: refused/);
    // A directory on the way swapped for a link after the check.
    mkdirSync(join(up, 'fine', 'in'));
    writeFileSync(join(up, 'fine', 'in', 'orders.csv'), 'id,name\n1,a\n');
    const inner = await confinedPath(join(up, 'fine', 'in', 'orders.csv'), join(up, 'fine'));
    renameSync(join(up, 'fine', 'in'), join(up, 'fine', 'in.old'));
    symlinkSync(join(up, 'globex'), join(up, 'fine', 'in'));
    await expect(CsvFile.open(inner, { delimiter: ',', quote: '"', encoding: 'utf8' }, 'acme')).rejects.toThrow(`source.path ${inner} now leads to ${join(up, 'globex', 'orders.csv')}`);
    symlinkSync(join(up, 'fine', 'gone.csv'), join(up, 'fine', 'dangling.csv'));
    await expect(confinedPath(join(up, 'fine', 'dangling.csv'))).rejects.toThrow(/is a symlink to a file that does not exist/);
  });

  it("a header's text in an error is cut to 60 characters", async () => {
    const path = join(up, 'fine', 'long-header.csv');
    writeFileSync(path, `id,${'SECRET_'.repeat(100)}\n1,a\n`);
    const err = (await runCsv(dst.url, csvConfig({ path }), { runKey: 'confine/long' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^source\.header: column 2 of .* is "(SECRET_){8}SECR…", which is not a plain SQL identifier/);
    expect(err.message.length).toBeLessThan(400);
  });
});
