import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev';
import { runCli } from '../helpers/cli';
import { connectWorker } from '../../src/worker';

let cwd: string;
let deadTemporal: string;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'tm-cli-'));
  writeFileSync(
    join(cwd, 'tidemark.yaml'),
    'integrations:\n  - id: orders\n    source: {kind: postgres, url: "${SRC}", table: public.orders, cursor: [updated_at, id]}\n    sink: {table: public.orders_copy, key: [id]}\n' +
      '  - id: items\n    source: {kind: csv, path: items.csv}\n    sink: {table: public.items, key: [id]}\n' +
      '  - id: issues\n    source: {kind: http, url: "http://127.0.0.1:9/issues", pagination: {style: link_header, sinceParam: since}, columns: {id: bigint, updated_at: timestamptz}}\n' +
      '    sink: {table: public.issues, key: [id]}\n',
  );
  writeFileSync(
    join(cwd, 'bad.yaml'),
    'integrations:\n  - id: orders\n    source: {kind: postgres, url: "postgres://x", table: "orders; DROP TABLE x", cursor: []}\n    sink: {table: t, key: [id]}\n    batchSize: -5\n',
  );
  deadTemporal = `127.0.0.1:${await freePort()}`;
});

describe('CLI errors: non-zero exit, a message naming the problem, nothing started', () => {
  it('invalid config names every bad field', async () => {
    const r = await runCli(['sync', 'orders', '--config', 'bad.yaml'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('integrations[0].source.table: must be "table" or "schema.table"');
    expect(r.stderr).toContain('integrations[0].source.cursor: needs at least one column');
    expect(r.stderr).toContain('integrations[0].batchSize');
    expect(r.stderr).not.toContain('cannot reach Temporal');
  });

  it('an unknown integration is named, with the ones that exist', async () => {
    const r = await runCli(['backfill', 'nope'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown integration "nope": the config defines "orders"/);
  });

  it('a bad --from or --shards is rejected by argument parsing', async () => {
    const r = await runCli(['backfill', 'orders', '--from', '{not json'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(r.code).not.toBe(0);
    // With the shape this source's cursors take (an API's integration was shown a PostgreSQL row: an acceptance run).
    expect(r.stderr).toMatch(/--from.*not valid JSON \(orders's cursors are .+\); give a cursor as `tidemark checkpoint show orders` prints it/);
    const s = await runCli(['backfill', 'orders', '--shards', '0'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toMatch(/--shards.*whole number from 1 to 64/);
    // Every count option is checked the same way (found by an acceptance run: --ranges abc reached the SQL as NaN).
    for (const args of [['verify', 'orders', '--ranges', 'abc'], ['verify', 'orders', '--ranges', '0'], ['runs', 'orders', '--limit', '-5'], ['dead-letters', 'orders', '--limit', '1.5']]) {
      const r = await runCli(args, { TEMPORAL_ADDRESS: deadTemporal }, cwd);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/option '--(ranges|limit) <n>' argument .* is invalid\. must be a whole number from 1 to/);
    }
  });

  it('a --from of the wrong shape for the source is refused before Temporal is asked', async () => {
    for (const bad of ['{"a":1}', '["2024-01-01"]', '[1,2,3]', '"x"']) {
      const r = await runCli(['backfill', 'orders', '--from', bad], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
      expect(r.code, bad).not.toBe(0);
      expect(r.stderr, bad).toContain(`--from ${bad}: invalid cursor`);
      expect(r.stderr, bad).toMatch(/values of updated_at, id/);
      expect(r.stderr, bad).not.toContain('cannot reach Temporal');
    }
    // The right shape (and null: from the start) passes the check and goes on to Temporal (down here).
    for (const good of ['["2024-01-01 00:00:00+00","42"]', 'null']) {
      const r = await runCli(['backfill', 'orders', '--from', good], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
      expect(r.code, good).not.toBe(0);
      expect(r.stderr, good).toMatch(/cannot reach Temporal/);
    }
  });

  it('--shards of a source that cannot split is refused naming why, before Temporal is asked', async () => {
    const csv = await runCli(['backfill', 'items', '--shards', '2'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(csv.code).not.toBe(0);
    expect(csv.stderr).toContain('error: --shards 2: a csv source cannot split its key range (one file, read in order); run the backfill without --shards');
    const http = await runCli(['backfill', 'issues', '--shards', '4'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(http.code).not.toBe(0);
    expect(http.stderr).toContain('error: --shards 4: source.pagination.style: pagination style link_header cannot be cut into parallel slices');
    for (const r of [csv, http]) expect(r.stderr).not.toContain('cannot reach Temporal');
    // One shard, or a source that splits: on to Temporal (down here).
    for (const args of [['items', '--shards', '1'], ['orders', '--shards', '4']]) {
      const r = await runCli(['backfill', ...args], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
      expect(r.stderr, args.join(' ')).toMatch(/cannot reach Temporal/);
    }
  });

  it('a bad --cron is refused naming the option and what is wrong, before Temporal is asked', async () => {
    const r = await runCli(['sync', 'orders', '--cron', 'bogus cron'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`--cron 'bogus cron' has 2 fields, not 5`);
    expect(r.stderr).not.toContain('cannot reach Temporal');
  });

  it('a missing config file and an unreachable Temporal say what to do', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tm-cli-empty-'));
    const none = await runCli(['sync', 'orders'], {}, empty);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no config file: create tidemark.yaml/);
    const dead = await runCli(['sync', 'orders'], { TEMPORAL_ADDRESS: deadTemporal }, cwd);
    expect(dead.code).not.toBe(0);
    expect(dead.stderr).toMatch(/cannot reach Temporal at 127.0.0.1:\d+.*tidemark dev/);
  });

  it('an unreachable state database is named (host, port, database, what it is), never its password', async () => {
    const port = await freePort();
    const r = await runCli(['runs', 'orders'], { DATABASE_URL: `postgres://me:s3cret@127.0.0.1:${port}/state` }, cwd);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot reach the state database at 127.0.0.1:${port}/state (the sink's database, which holds tidemark's checkpoints and runs): connect ECONNREFUSED`);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('a worker waits for Temporal a while, saying so once, then fails with what to do (not a Rust transport dump)', async () => {
    const said: string[] = [];
    const err = await connectWorker({ TEMPORAL_ADDRESS: deadTemporal }, 2_500, (why) => said.push(why)).then(() => undefined, (e: unknown) => e as Error);
    expect(said).toEqual([`waiting for Temporal at ${deadTemporal} (connection refused), up to 3 s`]);
    expect(err?.message).toBe(`cannot reach Temporal at ${deadTemporal} (connection refused): start it with \`tidemark dev\` or set TEMPORAL_ADDRESS`);
  });
});
