import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { csvConfig, runCsv, settled, tempDir } from './csv-helpers';

let dst: TestDatabase;
const dir = tempDir();
beforeAll(async () => {
  dst = await createTestDatabase('csv_settled');
});
afterAll(async () => {
  await dst?.drop();
});

describe('a CSV letter whose line was fixed', () => {
  it('is superseded by --retry once a later run wrote its key (typed columns, its key kept as text)', async () => {
    const path = join(dir, 'typed.csv');
    const cfg = csvConfig({ path, columns: { id: { name: 'id', type: 'bigint' }, email: 'email', amount: { name: 'amount', type: 'numeric(12,2)' } } });
    writeFileSync(path, 'id,email,amount\n1,a@x.com,abc\n2,b@x.com,2\n');
    settled(path);
    expect(await runCsv(dst.url, cfg, { runKey: 'typed/1', mode: 'sync' })).toMatchObject({ done: true });
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.dead_letters WHERE integration = 'csv'`)).toEqual([{ n: '1' }]);
    writeFileSync(path, 'id,email,amount\n1,a@x.com,1\n2,b@x.com,2\n');
    settled(path);
    expect(await runCsv(dst.url, cfg, { runKey: 'typed/2' })).toMatchObject({ done: true });
    expect(await sql(dst.url, 'SELECT id::text, amount::text FROM copy.items ORDER BY id')).toEqual([
      { id: '1', amount: '1.00' },
      { id: '2', amount: '2.00' },
    ]);
    const retry = await retryDeadLetters(cfg.integrations[0]!, { DST_URL: dst.url });
    expect(retry).toMatchObject({ pending: 1, superseded: 1, stillFailing: [] });
  });
});
