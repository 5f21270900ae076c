import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from '../helpers/fixtures';
import { retryDeadLetters } from '../../src/transform/retry-dead-letters';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { count, csvConfig, resetTarget, runCsv, settled, tempDir, versions } from './csv-helpers';

let dst: TestDatabase;
let dir: string;

beforeAll(async () => {
  dst = await createTestDatabase('csv_act');
  dir = tempDir();
});
afterAll(async () => {
  await dst?.drop();
});
beforeEach(async () => {
  await resetTarget(dst.url);
});

const BAD_ROWS = ['id,name,amount', '1,a,1.00', '2,b', '3,c,abc', '4,"d, e",4', '5,e,5,extra', 'x6,f,6', '7,g,7', ''].join('\n');
const TYPED = { id: { type: 'bigint' }, name: 'name', amount: { type: 'numeric(12,2)' } };

async function deadLetters(): Promise<Array<{ reason: string; record: Record<string, string | null> }>> {
  return sql(dst.url, 'SELECT reason, record FROM tidemark.dead_letters ORDER BY id');
}

describe('csv source through the activity', () => {
  it('lands quoted fields, embedded newlines, commas, quotes, CRLF and a BOM exactly', async () => {
    const path = join(dir, 'tricky.csv');
    const text =
      '\ufeffid,name,note,maybe\r\n' +
      '1,plain,"a, b",""\r\n' +
      '2,"quote ""inside""","line one\r\nline two\nline three",x\r\n' +
      '3,"tab\there","back\\slash \\N",\r\n' +
      '\r\n' +
      '4,ünïcødé ✓,"",\r\n' +
      '5,"  spaced  ",  trailing  ,"y"'; // no line break after the last record
    writeFileSync(path, text);
    settled(path); // the last line has no line break: read once the file is quiet
    const r = await runCsv(dst.url, csvConfig({ path }, { batchSize: 2 }), { runKey: 'tricky/1' });
    expect(r).toMatchObject({ rows: 5, done: true });
    // Said in the run's warnings: a writer that paused mid-line would leave a row of the cut line (an acceptance run).
    expect(r.warnings).toEqual([expect.stringMatching(/^the last line of .*tricky\.csv \(line 9\) has no line break: read as it is \(the file has not changed for \d+ s\) and again once the file grows; if a writer was still writing it, the row made of the cut line stays beside the finished one when the cut fell in its key \(delete that row by hand\)$/)]);
    expect(await sql(dst.url, 'SELECT id, name, note, maybe FROM copy.items ORDER BY id')).toEqual([
      { id: '1', name: 'plain', note: 'a, b', maybe: null },
      { id: '2', name: 'quote "inside"', note: 'line one\r\nline two\nline three', maybe: 'x' },
      { id: '3', name: 'tab\there', note: 'back\\slash \\N', maybe: null },
      { id: '4', name: 'ünïcødé ✓', note: null, maybe: null },
      { id: '5', name: '  spaced  ', note: '  trailing  ', maybe: 'y' },
    ]);
    // The cursor is a byte offset (the BOM counted) with the physical line count: before the last record, which has
    // no line break (a writer may extend it: the next run reads it again).
    const [cp] = await sql<{ cursor: { offset: number; line: number } }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
    expect(cp!.cursor).toMatchObject({ offset: Buffer.byteLength(text) - Buffer.byteLength('5,"  spaced  ",  trailing  ,"y"'), line: 8 });
  });

  it('a file whose lines end in both LF and CRLF (files joined from two systems) reads each record whole, with the file`s line numbers', async () => {
    // Before: csv-parse took the first line's ending for all of them; after an LF header, "x\r" kept its CR, and after
    // a CRLF header, LF lines were glued into one record's fields (silently).
    for (const [name, eols] of [['lf-first', ['\n', '\r\n']], ['crlf-first', ['\r\n', '\n']]] as const) {
      const path = join(dir, `${name}.csv`);
      const [a, b] = eols;
      writeFileSync(path, `id,name,amount${a}1,one,1${b}2,"two${b}lines",2${a}3,three,x${b}${a}4,four,4${b}`);
      await resetTarget(dst.url);
      const r = await runCsv(dst.url, csvConfig({ path, columns: TYPED }), { runKey: `${name}/1` });
      expect(r).toMatchObject({ rows: 4, done: true });
      expect(await sql(dst.url, 'SELECT id::text, name, amount::text FROM copy.items ORDER BY id')).toEqual([
        { id: '1', name: 'one', amount: '1.00' },
        { id: '2', name: `two${b}lines`, amount: '2.00' },
        { id: '4', name: 'four', amount: '4.00' },
      ]);
      // Line 5: the quoted value spans lines 3 and 4; a blank line 6 before id 4 on line 7.
      expect((await deadLetters()).map((d) => d.reason)).toEqual(['line 5: amount: "x" is not a number']);
      const [cp] = await sql<{ cursor: { offset: number; line: number } }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'backfill'`);
      expect(cp!.cursor.line).toBe(7);
    }
  });

  it('a CRLF whose LF the writer appends after a sync read up to the CR is one line break (line numbers stay the file`s)', async () => {
    const path = join(dir, 'split-crlf.csv');
    writeFileSync(path, 'id,name,amount\r\n1,a,1\r');
    const cfg = csvConfig({ path, columns: TYPED });
    expect(await runCsv(dst.url, cfg, { runKey: 'split/1', mode: 'sync' })).toMatchObject({ rows: 1 });
    appendFileSync(path, '\n2,b,2,extra\r\n3,c,3\r\n');
    expect(await runCsv(dst.url, cfg, { runKey: 'split/2', mode: 'sync' })).toMatchObject({ rows: 2 });
    expect((await deadLetters()).map((d) => d.reason)).toEqual(['line 3: expected 3 fields, got 4: 2,b,2,extra']);
    const [cp] = await sql<{ cursor: { offset: number; line: number } }>(dst.url, `SELECT cursor FROM tidemark.checkpoints WHERE slot = 'sync'`);
    expect(cp!.cursor).toMatchObject({ offset: statSync(path).size, line: 4 });
    expect(await sql(dst.url, 'SELECT id::text, name FROM copy.items ORDER BY id')).toEqual([{ id: '1', name: 'a' }, { id: '3', name: 'c' }]);
  });

  it('a file without a header whose only line was read unfinished (quiet) and then finished by its writer reads on (it failed as a replaced file)', async () => {
    const path = join(dir, 'no-header-growing.csv');
    writeFileSync(path, '1,a');
    settled(path);
    const cfg = csvConfig({ path, header: ['id', 'name'] });
    expect(await runCsv(dst.url, cfg, { runKey: 'nh/1', mode: 'sync' })).toMatchObject({ rows: 1 });
    appendFileSync(path, 'bc\n2,x\n');
    expect(await runCsv(dst.url, cfg, { runKey: 'nh/2', mode: 'sync' })).toMatchObject({ rows: 2 });
    expect(await sql(dst.url, 'SELECT id, name FROM copy.items ORDER BY id')).toEqual([
      { id: '1', name: 'abc' },
      { id: '2', name: 'x' },
    ]);
  });

  it('a header line a writer is still writing (no line break, the file changed moments ago) is read once it ends (it made a column "no" of "note")', async () => {
    const path = join(dir, 'header-being-written.csv');
    writeFileSync(path, 'id,name,no');
    const run = runCsv(dst.url, csvConfig({ path }), { runKey: 'hdr/1', mode: 'sync' });
    await new Promise((r) => setTimeout(r, 1_000));
    appendFileSync(path, 'te\n1,a,x\n');
    expect(await run).toMatchObject({ rows: 1 });
    expect(await sql(dst.url, 'SELECT id, name, note FROM copy.items')).toEqual([{ id: '1', name: 'a', note: 'x' }]);
  });

  it('a row the target refuses (a CHECK, a too-long value) is a letter naming the file line it is on (it gave only the constraint)', async () => {
    const path = join(dir, 'target-refuses.csv');
    writeFileSync(path, 'id,name,amount\n1,a,1\n2,"b\nb",-2\n3,c,3\n4,toolong,4\n');
    await sql(dst.url, `CREATE SCHEMA copy; CREATE TABLE copy.items (id bigint PRIMARY KEY, name varchar(4), amount numeric(12,2) CHECK (amount > 0))`);
    expect(await runCsv(dst.url, csvConfig({ path, columns: TYPED }), { runKey: 'refuses/1' })).toMatchObject({ rows: 4 });
    expect((await deadLetters()).map((d) => d.reason)).toEqual([
      expect.stringMatching(/^line 3: check_violation \(23514\) on items_amount_check/),
      expect.stringMatching(/^line 6: the target refuses a value in column name: value too long/),
    ]);
  });

  it('a file replaced by one with a longer header, past the old cursor, still fails as replaced (the review)', async () => {
    const path = join(dir, 'replaced-longer-header.csv');
    writeFileSync(path, 'id,name,amount\n1,a,1\n');
    const cfg = csvConfig({ path, columns: TYPED });
    expect(await runCsv(dst.url, cfg, { runKey: 'longer/1', mode: 'sync' })).toMatchObject({ rows: 1 });
    writeFileSync(path, 'id,name,amount,and_a_long_extra_column\n2,b,2,x\n');
    await expect(runCsv(dst.url, cfg, { runKey: 'longer/2', mode: 'sync' })).rejects.toMatchObject({ type: 'CsvFileChangedError', message: expect.stringContaining('its header line changed (replaced)') });
  });

  it('maps header names to typed target columns and drops unlisted ones', async () => {
    const path = join(dir, 'typed.csv');
    writeFileSync(
      path,
      'Order ID,Email,Amount,Created At,Active,Payload,Internal\n' +
        '1,a@x.io,12.5,2024-05-01 10:00:00.123456+02,yes,"{""k"": [1, 2]}",secret\n' +
        '2,b@x.io,,2024-05-02T00:00:00Z,f,null,secret\n',
    );
    const columns = {
      'Order ID': { name: 'id', type: 'bigint' },
      Email: 'email',
      Amount: { name: 'amount', type: 'numeric(12,2)' },
      'Created At': { name: 'created_at', type: 'timestamptz' },
      Active: { name: 'active', type: 'boolean' },
      Payload: { name: 'payload', type: 'jsonb' },
    };
    await runCsv(dst.url, csvConfig({ path, columns }), { runKey: 'typed/1' });
    const types = await sql(dst.url, `SELECT attname AS c, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'copy.items'::regclass AND attnum > 0 ORDER BY attnum`);
    expect(types).toEqual([
      { c: 'id', t: 'bigint' },
      { c: 'email', t: 'text' },
      { c: 'amount', t: 'numeric(12,2)' },
      { c: 'created_at', t: 'timestamp with time zone' },
      { c: 'active', t: 'boolean' },
      { c: 'payload', t: 'jsonb' },
    ]);
    expect(
      await sql(dst.url, `SELECT id::text, email, amount::text, (created_at AT TIME ZONE 'UTC')::text AS utc, active::text, payload::text FROM copy.items ORDER BY id`),
    ).toEqual([
      { id: '1', email: 'a@x.io', amount: '12.50', utc: '2024-05-01 08:00:00.123456', active: 'true', payload: '{"k": [1, 2]}' },
      { id: '2', email: 'b@x.io', amount: null, utc: '2024-05-02 00:00:00', active: 'false', payload: 'null' },
    ]);
  });

  it('reads a file without a header line, with its own delimiter, quote, NULL text and encoding', async () => {
    const path = join(dir, 'dialect.csv');
    writeFileSync(path, Buffer.from("1;'caf\xe9; ok';NULL\n2;'it''s';\n3;plain;x\n", 'latin1'));
    const source = { path, header: ['id', 'name', 'tag'], delimiter: ';', quote: "'", nullValue: 'NULL', encoding: 'latin1' };
    expect(await runCsv(dst.url, csvConfig(source), { runKey: 'dialect/1' })).toMatchObject({ rows: 3, done: true });
    expect(await sql(dst.url, 'SELECT id, name, tag FROM copy.items ORDER BY id')).toEqual([
      { id: '1', name: 'café; ok', tag: null },
      { id: '2', name: "it's", tag: '' },
      { id: '3', name: 'plain', tag: 'x' },
    ]);
  });

  it('a line that is not UTF-8 under encoding utf8 is a dead letter naming the byte, not a row of U+FFFD (it was written silently); a real U+FFFD is data', async () => {
    const path = join(dir, 'latin.csv');
    // Line 3 is Latin-1 (é as the single byte E9); line 4 holds a real U+FFFD (EF BF BD); line 5 is after the bad one.
    // Line 6: a real U+FFFD in a mapped column and a Latin-1 byte in one the config drops (note): a good row. Line 7: a
    // Latin-1 byte beside a value its type refuses: the UTF-8 letter, which --retry never writes, whatever the config.
    const lines = [Buffer.from('id,name,amount,note\n1,plain,1,\n2,caf'), Buffer.from([0xe9]), Buffer.from(' au lait,2,\n3,\uFFFD kept,3,\n4,after,4,\n5,\uFFFD again,5,x'), Buffer.from([0xe9]), Buffer.from('\n6,b'), Buffer.from([0xe9]), Buffer.from('b\uFFFD,abc,\n')];
    writeFileSync(path, Buffer.concat(lines));
    const columns = { id: 'id', name: 'name', amount: { type: 'integer' } };
    const r = await runCsv(dst.url, csvConfig({ path, columns }), { runKey: 'latin/1' });
    expect(r).toMatchObject({ rows: 6, done: true });
    expect(await sql(dst.url, 'SELECT id, name FROM copy.items ORDER BY id')).toEqual([
      { id: '1', name: 'plain' },
      { id: '3', name: '\uFFFD kept' },
      { id: '4', name: 'after' },
      { id: '5', name: '\uFFFD again' },
    ]);
    const letters = await deadLetters();
    expect(letters).toEqual([
      { reason: expect.stringMatching(/^line 3: not valid UTF-8 in name \(byte 3 of its value, 0xE9\): .*If the file is Latin-1 .*set the source's encoding: latin1/), record: { id: '2', name: 'caf\uFFFD au lait', amount: '2' } },
      { reason: expect.stringMatching(/^line 7: not valid UTF-8 in name \(byte 1 of its value, 0xE9\): .*; the line also has: amount: "abc" is not an integer$/), record: { id: '6', name: 'b\uFFFDb\uFFFD', amount: 'abc' } },
    ]);
    // --retry never writes the U+FFFD values: the line must be read again from the file.
    // Even with amount as text, which would pass line 7's "abc".
    const retry = await retryDeadLetters(csvConfig({ path, columns: { ...columns, amount: 'amount' } }).integrations[0]!, { DST_URL: dst.url });
    expect(retry).toMatchObject({ pending: 2, written: 0, stillFailing: [{ reason: expect.stringMatching(/^line 3: not valid UTF-8 .*\(not re-processed: its values hold U\+FFFD/) }, { reason: expect.stringMatching(/^line 7: not valid UTF-8 .*\(not re-processed/) }] });
    // Read as Latin-1, line 3 is a row (a real U+FFFD's three bytes become three Latin-1 characters, as they are).
    expect(await runCsv(dst.url, csvConfig({ path, columns, encoding: 'latin1' }), { runKey: 'latin/2', mode: 'backfill' })).toMatchObject({ rows: 6, done: true });
    expect(await sql(dst.url, "SELECT name FROM copy.items WHERE id = '2'")).toEqual([{ name: 'café au lait' }]);
    // Its row written by the re-read, line 3's letter is settled (superseded); line 7's key is still refused (abc).
    const settledAfter = await retryDeadLetters(csvConfig({ path, columns, encoding: 'latin1' }).integrations[0]!, { DST_URL: dst.url });
    expect(settledAfter.superseded).toBe(1);
    expect(settledAfter.stillFailing.map((f) => f.reason)).toEqual([expect.stringMatching(/^line 7: /), expect.stringMatching(/^line 7: amount: "abc" is not an integer/)]);

    // A delimiter of several bytes ("│"): the line is split again by its bytes, and the second column is named (the review).
    await resetTarget(dst.url);
    const boxed = join(dir, 'boxed.csv');
    writeFileSync(boxed, Buffer.concat([Buffer.from('id│name\n1│ok\n2│caf'), Buffer.from([0xe9]), Buffer.from('\n3│\uFFFD fine\n')]));
    expect(await runCsv(dst.url, csvConfig({ path: boxed, delimiter: '│' }), { runKey: 'latin/3' })).toMatchObject({ rows: 3, done: true });
    expect((await deadLetters()).map((l) => l.reason)).toEqual([expect.stringMatching(/^line 3: not valid UTF-8 in name \(byte 3 of its value, 0xE9\)/)]);
    expect(await count(dst.url, 'copy.items')).toBe(2);
  });

  it('sends records with a wrong field count or a value the column type rejects to dead letters; the run goes on', async () => {
    const path = join(dir, 'bad.csv');
    writeFileSync(path, BAD_ROWS);
    const r = await runCsv(dst.url, csvConfig({ path, columns: TYPED }, { batchSize: 3 }), { runKey: 'bad/1' });
    expect(r).toMatchObject({ rows: 7, done: true });
    expect(await sql(dst.url, 'SELECT id::text, name, amount::text FROM copy.items ORDER BY id')).toEqual([
      { id: '1', name: 'a', amount: '1.00' },
      { id: '4', name: 'd, e', amount: '4.00' },
      { id: '7', name: 'g', amount: '7.00' },
    ]);
    expect(await deadLetters()).toEqual([
      { reason: 'line 3: expected 3 fields, got 2: 2,b', record: { id: '2', name: 'b', amount: null } },
      { reason: 'line 4: amount: "abc" is not a number', record: { id: '3', name: 'c', amount: 'abc' } },
      { reason: 'line 6: expected 3 fields, got 4: 5,e,5,extra', record: { id: '5', name: 'e', amount: '5' } },
      { reason: 'line 7: id: "x6" is not an integer', record: { id: 'x6', name: 'f', amount: '6' } },
    ]);
    const [run] = await sql(dst.url, `SELECT rows_read::text, rows_committed::text, rows_rejected::text, status FROM tidemark.runs WHERE run_id = 'bad/1'`);
    expect(run).toEqual({ rows_read: '7', rows_committed: '7', rows_rejected: '4', status: 'completed' });

    // dead-letters --retry asks the source's checks again (acceptance run: a misshapen line was written from its
    // guessed values, and "abc" stopped the whole retry with PostgreSQL's error). Nothing fixed: nothing passes.
    const cfg = csvConfig({ path, columns: TYPED });
    const same = await retryDeadLetters(cfg.integrations[0]!, { DST_URL: dst.url });
    expect(same).toMatchObject({ pending: 4, written: 0, stillFailing: [
      { reason: expect.stringMatching(/^line 3: expected 3 fields, got 2: 2,b \(not re-processed: .*fix the line in the file and read it again/) },
      { reason: 'line 4: amount: "abc" is not a number' },
      { reason: expect.stringMatching(/^line 6: expected 3 fields, got 4: 5,e,5,extra \(not re-processed/) },
      { reason: 'line 7: id: "x6" is not an integer' },
    ] });
    expect(await count(dst.url, 'copy.items')).toBe(3);
    // Amount as text in the config: "abc" passes the source now, and the target's numeric column refuses it; that
    // letter keeps its place with the target's reason, and the retry goes on (x6 still fails the source's check).
    const relaxed = csvConfig({ path, columns: { ...TYPED, amount: { type: 'text' } } });
    const again = await retryDeadLetters(relaxed.integrations[0]!, { DST_URL: dst.url });
    expect(again.stillFailing.map((f) => f.reason)).toEqual([
      expect.stringMatching(/^line 3: expected 3 fields, got 2: 2,b \(not re-processed/),
      expect.stringMatching(/^line 6: expected 3 fields, got 4/),
      'line 7: id: "x6" is not an integer',
      expect.stringMatching(/^line 4: the target refuses a value in column amount: invalid input syntax for type numeric: "abc" \(SQLSTATE 22P02\)$/),
    ]);
    expect((await deadLetters()).filter((d) => d.reason.includes('(not re-processed: its values')).map((d) => (d.reason.match(/not re-processed/g) ?? []).length)).toEqual([1, 1]);
  });

  it('with a mapping, the source\'s rejects and the pipeline\'s both reach dead letters', async () => {
    const path = join(dir, 'bad-mapped.csv');
    writeFileSync(path, BAD_ROWS);
    const cfg = csvConfig({ path, columns: TYPED }, { mapping: { id: 'id', name: { from: 'name', transform: 'upper' }, amount: 'amount' }, validate: { amount: { type: 'number', min: 2 } } });
    expect(await runCsv(dst.url, cfg, { runKey: 'bad/2' })).toMatchObject({ rows: 7, done: true });
    expect(await sql(dst.url, 'SELECT id::text, name FROM copy.items ORDER BY id')).toEqual([
      { id: '4', name: 'D, E' },
      { id: '7', name: 'G' },
    ]);
    const reasons = (await deadLetters()).map((d) => d.reason);
    expect(reasons).toHaveLength(5);
    expect(reasons).toEqual(expect.arrayContaining(['line 3: expected 3 fields, got 2: 2,b', 'line 7: id: "x6" is not an integer', expect.stringMatching(/^amount: /)]));
  });

  it('a header or file that does not fit the config fails at once, non-retryable, naming the field', async () => {
    const file = (name: string, content: string | Buffer) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    let n = 0;
    const fails = async (source: Record<string, unknown>, type: string, message: unknown) => {
      await expect(runCsv(dst.url, csvConfig(source), { runKey: `setup/${++n}` })).rejects.toMatchObject({ nonRetryable: true, type, message });
    };
    const plain = file('plain.csv', 'id,name\n1,a\n');
    await fails({ path: plain, columns: { 'Order ID': { name: 'id' } } }, 'CsvHeaderError', `source.columns.Order ID: the header of ${plain} has no column "Order ID" (it has "id", "name")`);
    const spaced = file('spaced.csv', 'id,Full Name\n1,a\n');
    await fails(
      { path: spaced },
      'CsvHeaderError',
      `source.header: column 2 of ${spaced} is "Full Name", which is not a plain SQL identifier: map the columns you want under source.columns, e.g. "Full Name": { name: ..., type: text }`,
    );
    const twice = file('twice.csv', 'id,v,v\n1,a,b\n');
    await fails({ path: twice }, 'CsvHeaderError', `source.header: the header of ${twice} names "v" twice (columns 2 and 3): rename one in the file, or give header: [names]`);
    const empty = file('empty.csv', '');
    await fails({ path: empty }, 'CsvHeaderError', `source.path ${empty} is empty, but header: true needs a first line naming the columns (or give the names: header: [a, b, …])`);
    await fails({ path: join(dir, 'missing.csv') }, 'CsvFileError', expect.stringContaining(`source.path ${join(dir, 'missing.csv')} cannot be read (ENOENT)`));
    const utf16 = file('utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id\n1\n', 'utf16le')]));
    await fails({ path: utf16 }, 'CsvFileError', `source.path ${utf16} is UTF-16 (it starts with a UTF-16 byte-order mark): convert it to UTF-8`);
    // Nothing was started in the target for any of them.
    expect(await sql(dst.url, `SELECT to_regclass('copy.items') AS t`)).toEqual([{ t: null }]);
  });

  it('broken CSV (an unclosed quote) fails naming the line after committing what precedes it; fixed, it resumes', async () => {
    const path = join(dir, 'broken.csv');
    const lines = (broken: boolean) => ['id,v', ...Array.from({ length: 2600 }, (_, i) => (i + 1 === 2500 && broken ? '2500,"oops' : `${i + 1},v${i + 1}`)), ''].join('\n');
    writeFileSync(path, lines(true));
    // A quiet file: one that changed moments ago could be a writer inside a quoted value over several lines (it waits).
    settled(path);
    const cfg = csvConfig({ path, columns: { id: { type: 'bigint' }, v: 'v' } });
    await expect(runCsv(dst.url, cfg, { runKey: 'broken/1' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'CsvFormatError',
      message: expect.stringContaining(`${path} is not valid CSV in the record that starts on line 2501`),
    });
    // The hint names the integration (it printed a literal `<id>`: an acceptance run).
    await expect(runCsv(dst.url, cfg, { runKey: 'broken/1' })).rejects.toThrow(/`tidemark resume csv` for a backfill/);
    expect(await count(dst.url, 'copy.items')).toBe(2499);
    const before = await versions(dst.url);
    writeFileSync(path, lines(false)); // fixed in place: the bytes before the checkpoint are unchanged
    const env = new MockActivityEnvironment({ attempt: 2 });
    expect(await runCsv(dst.url, cfg, { runKey: 'broken/1' }, env)).toMatchObject({ rows: 2600, done: true });
    expect(await count(dst.url, 'copy.items')).toBe(2600);
    const after = await versions(dst.url);
    for (const [id, x] of before) expect(after.get(id), `row ${id} rewritten`).toBe(x);
  });

  it('a quote inside an unquoted value names its field counted from 1 and by the header (csv-parse says "field 1" for the second)', async () => {
    const path = join(dir, 'stray-quote.csv');
    writeFileSync(path, 'id,name,amount\n1,a,1\n2,b "c",2\n');
    settled(path);
    await expect(runCsv(dst.url, csvConfig({ path }), { runKey: 'stray/1' })).rejects.toThrow(/line 3 \(byte 21\): Invalid Opening Quote: a quote is found in field 2 \("name"\), value is "b "/);
    expect(await count(dst.url, 'copy.items')).toBe(1);
  });
});

/** Whether the pipeline path carries a source's own rejects (Page.rejected) through to dead letters. */
