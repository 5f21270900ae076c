import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities, type Progress, type RunInput, type RunResult } from '../../src/activities';
import { writersWaitLine } from '../../src/cli/run-progress';
import { parseConfig, type Config } from '../../src/config';
import { asRole, sql } from '../helpers/fixtures';
import { openStateSession } from '../../src/db/state-session';
import * as state from '../../src/db/state';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// The classic gap of cursor polling: a transaction that wrote a row (updated_at = now(), its start) commits after
// a run read past that time. A run waits, before it reads, for the transactions writing the table to end.
let src: TestDatabase;
let dst: TestDatabase;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('late_src'), createTestDatabase('late_dst')]);
  await sql(src.url, `CREATE TABLE public.events (id bigserial PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(), v text); CREATE INDEX ON public.events (updated_at, id)`);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

function configOf(writersWait: string): Config {
  return parseConfig({
    integrations: [{ id: 'events', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.events', cursor: ['updated_at', 'id'], writersWait }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.events_copy', key: ['id'], create: true } }],
  });
}

const sync = (config: Config, runKey: string, integration = 'events') => new MockActivityEnvironment().run(createActivities({ config: () => config, env: vars() }).runIntegration, { integration, mode: 'sync', runKey } as RunInput) as Promise<RunResult>;
const copied = async () => (await sql<{ id: string }>(dst.url, 'SELECT id::text FROM public.events_copy ORDER BY id')).map((r) => r.id);
const warningsOf = async (runKey: string) => (await sql<{ w: string[] | null }>(dst.url, `SELECT warnings AS w FROM tidemark.runs WHERE run_id = $1`, [runKey]))[0]?.w ?? [];

/** A writer that inserted a row (its updated_at: the transaction's start) and has not committed yet. */
async function openWriter(v: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: src.url });
  await c.connect();
  await c.query('BEGIN');
  await c.query(`INSERT INTO public.events (v) VALUES ($1)`, [v]);
  return c;
}

describe('late commits (a writer open while a run starts)', () => {
  it('the run waits for the writer to commit, so its row (older than rows committed since) is read, not skipped for good', async () => {
    await sql(src.url, `INSERT INTO public.events (v) VALUES ('first')`);
    expect(await sync(configOf('10s'), 'late/1')).toMatchObject({ rows: 1, done: true });
    const writer = await openWriter('late');
    await new Promise((r) => setTimeout(r, 20));
    await sql(src.url, `INSERT INTO public.events (v) VALUES ('after')`); // committed, newer updated_at than the open one
    const commitSoon = new Promise((r) => setTimeout(r, 800)).then(() => writer.query('COMMIT')).finally(() => writer.end());
    const t = Date.now();
    const r = await sync(configOf('10s'), 'late/2');
    await commitSoon;
    expect(Date.now() - t).toBeGreaterThanOrEqual(700); // it waited for the commit
    expect(r).toMatchObject({ rows: 2, done: true });
    expect(await copied()).toEqual(['1', '2', '3']);
    expect(await warningsOf('late/2')).toEqual([]);
    // The wait is run time: the row starts when the run began, not after the wait.
    const [span] = await sql<{ ms: number }>(dst.url, `SELECT extract(epoch FROM finished_at - started_at)::float8 * 1000 AS ms FROM tidemark.runs WHERE run_id = 'late/2'`);
    expect(span!.ms).toBeGreaterThanOrEqual(700);
  });

  it('while it waits, its heartbeat names the writers (status shows them), and the first page clears it (an acceptance run: status showed nothing)', async () => {
    const writer = await openWriter('seen');
    const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const beats: Progress[] = [];
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: unknown) => beats.push(d as Progress));
    const commitSoon = new Promise((r) => setTimeout(r, 600)).then(() => writer.query('COMMIT')).finally(() => writer.end());
    const r = (await env.run(createActivities({ config: () => configOf('10s'), env: vars() }).runIntegration, { integration: 'events', mode: 'sync', runKey: 'late/seen' } as RunInput)) as RunResult;
    await commitSoon;
    expect(r).toMatchObject({ rows: 1, done: true });
    const waiting = beats.find((b) => b?.waitingForWriters)?.waitingForWriters;
    expect(waiting).toMatchObject({ table: 'public.events', who: [`pid ${pid}`], waitMs: 10_000 });
    expect(writersWaitLine(waiting!, Date.parse(waiting!.since) + 2_400)).toBe(
      `the run waits up to 10 s (source.writersWait) for 1 transaction(s) writing public.events to end before its first read (pid ${pid}), so rows they commit late are not missed; 2 s so far`,
    );
    // After the wait: no beat claims it any more, and the pages' beats are progress.
    const after = beats.slice(beats.findIndex((b) => b?.waitingForWriters) + 1);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((b) => !b?.waitingForWriters)).toBe(true);
    expect(beats.at(-1)).toMatchObject({ rows: 1, slot: 'sync' });
  });

  it('a writer still open after writersWait holds the run before its start (the rows committed after it began wait too), named in a run warning', async () => {
    await sync(configOf('0s'), 'late/3-before');
    const writer = await openWriter('too late');
    const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // In UTC, as tidemark's sessions print times, whatever the server's TimeZone (DATABASE_URL: the review).
    const [{ start }] = (await sql<{ start: string }>(src.url, "SELECT (xact_start AT TIME ZONE 'UTC')::text || '+00' AS start FROM pg_stat_activity WHERE pid = $1::int", [pid])) as [{ start: string }];
    try {
      await sql(src.url, `INSERT INTO public.events (v) VALUES ('newer')`); // committed, but after the writer began
      expect(await sync(configOf('300ms'), 'late/3')).toMatchObject({ rows: 0, done: true });
      expect(await warningsOf('late/3')).toEqual([
        expect.stringMatching(
          new RegExp(`^1 transaction\\(s\\) writing public\\.events were still open after this run waited 0\\.3 s for them \\(pid ${pid}\\): so that the rows they commit later are not missed, this run reads only up to updated_at < ${start.replace(/[+.]/g, '\\$&')} \\(the start of the oldest, less source\\.lag\\), not .+; a later run reads on once they end`),
        ),
      ]);
      // writersWait 0: no wait, no hold (the operator's choice): it reads the newer row, and says the writer was open.
      expect(await sync(configOf('0s'), 'late/4')).toMatchObject({ rows: 1, done: true });
      expect(await warningsOf('late/4')).toEqual([expect.stringMatching(/source\.writersWait is 0, so it neither waited for them nor held its range before them/)]);
    } finally {
      // Rolled back: after the run without a wait (late/4) its row would be behind the cursor, as that run's choice.
      await writer.query('ROLLBACK');
      await writer.end();
    }
    expect(() => configOf('61s')).toThrow(/source\.writersWait: must be at most 60s/);
  });

  it('held back, then committed: the next sync reads the late row and the ones after it, nothing missed', async () => {
    await sync(configOf('0s'), 'late/5-before');
    const writer = await openWriter('held');
    await sql(src.url, `INSERT INTO public.events (v) VALUES ('after held')`);
    expect(await sync(configOf('300ms'), 'late/5')).toMatchObject({ rows: 0, done: true });
    await writer.query('COMMIT');
    await writer.end();
    expect(await sync(configOf('300ms'), 'late/6')).toMatchObject({ rows: 2, done: true });
    expect(await warningsOf('late/6')).toEqual([]);
    const ids = (await sql<{ id: string }>(src.url, 'SELECT id::text FROM public.events ORDER BY id')).map((r) => r.id);
    expect(await copied()).toEqual(ids);
  });

  it('a timestamp without time zone is held on the writers\' clock (source.timeZone)', async () => {
    await sql(src.url, `CREATE TABLE public.local_events (id bigserial PRIMARY KEY, at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'America/Los_Angeles'), v text); CREATE INDEX ON public.local_events (at, id)`);
    const config = parseConfig({
      integrations: [{ id: 'local', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.local_events', cursor: ['at', 'id'], writersWait: '300ms', timeZone: 'America/Los_Angeles' }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.local_copy', key: ['id'], create: true } }],
    });
    await sql(src.url, `INSERT INTO public.local_events (v) VALUES ('before')`);
    const writer = new pg.Client({ connectionString: src.url });
    await writer.connect();
    await writer.query(`BEGIN; INSERT INTO public.local_events (v) VALUES ('held')`);
    await sql(src.url, `INSERT INTO public.local_events (v) VALUES ('after')`);
    expect(await sync(config, 'late/local-1', 'local')).toMatchObject({ rows: 1, done: true });
    expect((await warningsOf('late/local-1'))[0]).toMatch(/this run reads only up to at < \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \(the start of the oldest/);
    await writer.query('COMMIT');
    await writer.end();
    expect(await sync(config, 'late/local-2', 'local')).toMatchObject({ rows: 2, done: true });
    expect((await sql<{ n: string }>(dst.url, 'SELECT count(*)::text AS n FROM public.local_copy'))[0]!.n).toBe('3');
  });

  it('a writer whose start the role may not see (no pg_read_all_stats): the run warns its rows would be missed, and names the grant', async () => {
    const role = `tm_late_${process.pid}`;
    await sql(src.url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw'; GRANT SELECT ON public.events TO ${role}`);
    const writer = await openWriter('unseen');
    try {
      const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const asReader = { SRC_URL: asRole(src.url, role), DST_URL: dst.url };
      const r = (await new MockActivityEnvironment().run(createActivities({ config: () => configOf('300ms'), env: asReader }).runIntegration, { integration: 'events', mode: 'sync', runKey: 'late/7' } as RunInput)) as RunResult;
      expect(r).toMatchObject({ done: true });
      expect(await warningsOf('late/7')).toEqual([
        expect.stringMatching(
          new RegExp(`^1 transaction\\(s\\) writing public\\.events were still open after this run waited 0\\.3 s for them \\(pid ${pid}\\): rows they commit later with a cursor value this run reads past \\(up to .+\\) would be missed by incremental syncs; the run would read only up to their start instead if its role could see when they began \\(GRANT pg_read_all_stats TO ${role}\\)`),
        ),
      ]);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
      await sql(src.url, `DROP OWNED BY ${role}`).catch(() => undefined);
      await sql(src.url, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });

  it('a cursor with no clock (an id first): the warning says neither lag nor a hold can cover the writer, not to set the lag it refuses (an acceptance run)', async () => {
    const config = parseConfig({
      integrations: [{ id: 'by-id', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.events', cursor: ['id'], writersWait: '200ms' }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.events_by_id', key: ['id'], create: true } }],
    });
    const writer = await openWriter('by-id');
    try {
      expect(await sync(config, 'late/by-id', 'by-id')).toMatchObject({ done: true });
      const [w] = await warningsOf('late/by-id');
      expect(w).toMatch(/would be missed by incremental syncs\. The first cursor column has no clock, so neither source\.lag nor a hold can cover them: put a timestamp column first \(e\.g\. \[updated_at, id\]\) and set source\.lag, or raise source\.writersWait/);
      expect(w).not.toMatch(/A source\.lag longer/);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  });

  it('writersWait 0: no wait and no hold, but a writer open at the start is named in a run warning (an acceptance run: nothing said)', async () => {
    const writer = await openWriter('zero');
    try {
      const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const began = Date.now();
      expect(await sync(configOf('0'), 'late/zero')).toMatchObject({ done: true });
      expect(Date.now() - began).toBeLessThan(5_000);
      expect(await warningsOf('late/zero')).toEqual([
        expect.stringMatching(new RegExp(`^1 transaction\\(s\\) writing public\\.events were open when this run started, and source\\.writersWait is 0, so it neither waited for them nor held its range before them \\(pid ${pid}\\): rows they commit later .* would be missed`)),
      ]);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  });

  it('a prepared transaction (two-phase commit) holding the table is named by its gid', async () => {
    const c = new pg.Client({ connectionString: src.url });
    await c.connect();
    const setting = Number((await c.query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions')).rows[0]?.max_prepared_transactions);
    expect(setting, 'the test server allows prepared transactions (max_prepared_transactions > 0)').toBeGreaterThan(0);
    await c.query(`BEGIN; INSERT INTO public.events (v) VALUES ('prepared'); PREPARE TRANSACTION 'tm-late-2pc'`);
    try {
      expect(await sync(configOf('300ms'), 'late/2pc')).toMatchObject({ done: true });
      expect(await warningsOf('late/2pc')).toContainEqual(expect.stringMatching(/^1 transaction\(s\) writing public\.events were still open after this run waited 0\.3 s for them \(prepared transaction "tm-late-2pc"\)/));
    } finally {
      await c.query(`ROLLBACK PREPARED 'tm-late-2pc'`);
      await c.end();
    }
  });

  it('a cancel during the wait ends it at once, before the run writes anything', async () => {
    const writer = await openWriter('held while cancelled');
    try {
      const env = new MockActivityEnvironment();
      const running = env.run(createActivities({ config: () => configOf('30s'), env: vars() }).runIntegration, { integration: 'events', mode: 'sync', runKey: 'late/cancel' } as RunInput);
      const t = Date.now();
      setTimeout(() => env.cancel(), 500);
      await expect(running).rejects.toThrow(CancelledFailure);
      expect(Date.now() - t).toBeLessThan(5_000); // not the 30 s wait
      expect(await sql(dst.url, `SELECT count(*)::int AS n FROM tidemark.runs WHERE run_id = 'late/cancel'`)).toEqual([{ n: 0 }]);
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  });

  it('a sharded backfill names a writer still open in its run warnings (its plan reads the new range, not the shards)', async () => {
    const writer = await openWriter('open during the plan');
    try {
      const config = configOf('300ms');
      const acts = createActivities({ config: () => config, env: vars() });
      const plan = await new MockActivityEnvironment().run(acts.planBackfill, { integration: 'events', runKey: 'late/shards', shards: 2, resume: false });
      expect(plan).toMatchObject({ sharded: true });
      expect(await warningsOf('late/shards')).toContainEqual(expect.stringMatching(/^1 transaction\(s\) writing public\.events were still open after this run waited 0\.3 s/));
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  });

  it('a plan that finishes after its workflow recorded the run cancelled writes no slots and leaves the row cancelled', async () => {
    const acts = createActivities({ config: () => configOf('0s'), env: vars() });
    await new MockActivityEnvironment().run(acts.recordCancelled, { integration: 'events', runKey: 'late/cancelled-plan', kind: 'backfill' as const });
    const plan = new MockActivityEnvironment().run(acts.planBackfill, { integration: 'events', runKey: 'late/cancelled-plan', shards: 2, resume: false });
    await expect(plan).rejects.toMatchObject({ type: 'RunCancelledError', nonRetryable: true });
    expect(await sql(dst.url, `SELECT count(*)::int AS n FROM tidemark.checkpoints WHERE slot LIKE 'backfill/%' AND owner = 'late/cancelled-plan'`)).toEqual([{ n: 0 }]);
    expect(await sql(dst.url, `SELECT status, kind FROM tidemark.runs WHERE run_id = 'late/cancelled-plan'`)).toEqual([{ status: 'cancelled', kind: 'backfill' }]);
  });

  it('only a cancel its workflow recorded is final: an attempt that marked itself cancelled (heartbeat timeout) starts again on retry (the review)', async () => {
    const db = await openStateSession(dst.url, { applicationName: 'late-test' });
    try {
      expect(await state.startRun(db, 'late/timedout', 'events', 'backfill', null)).toBe(true);
      await state.finishRun(db, 'late/timedout', 'cancelled', 'activity timed out'); // stopForCancellation, then Temporal retries
      expect(await state.startRun(db, 'late/timedout', 'events', 'backfill', null)).toBe(true);
      expect(await sql(dst.url, `SELECT status, attempts FROM tidemark.runs WHERE run_id = 'late/timedout'`)).toEqual([{ status: 'running', attempts: 2 }]);
      // Recorded by its workflow: final, whatever finishes late.
      await state.markRunCancelled(db, 'late/timedout', { integration: 'events', kind: 'backfill' });
      expect(await state.startRun(db, 'late/timedout', 'events', 'backfill', null)).toBe(false);
      await state.finishRun(db, 'late/timedout', 'failed', 'a plan that finished late');
      expect(await sql(dst.url, `SELECT status, error FROM tidemark.runs WHERE run_id = 'late/timedout'`)).toEqual([{ status: 'cancelled', error: 'cancelled while waiting to retry' }]);
    } finally {
      await db.end();
    }
  });

  it("a writer of the same table in a database cloned from the source (the same table oid) is not the source's (an acceptance run)", async () => {
    const base = await createTestDatabase('late_base');
    const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    const clone = `${base.name}_clone`;
    const cloneUrl = Object.assign(new URL(base.url), { pathname: `/${clone}` }).toString();
    const writer = new pg.Client({ connectionString: cloneUrl });
    try {
      await sql(base.url, `CREATE TABLE public.t (id bigserial PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now()); CREATE INDEX ON public.t (updated_at, id)`);
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(clone)} TEMPLATE ${admin.escapeIdentifier(base.name)}`);
      await writer.connect();
      await writer.query('BEGIN');
      await writer.query('INSERT INTO public.t DEFAULT VALUES');
      const config = parseConfig({
        integrations: [{ id: 'based', source: { kind: 'postgres', url: '${BASE_URL}', table: 'public.t', cursor: ['updated_at', 'id'], writersWait: '2s' }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.based_copy', key: ['id'], create: true } }],
      });
      const t = Date.now();
      await new MockActivityEnvironment().run(createActivities({ config: () => config, env: { ...vars(), BASE_URL: base.url } }).runIntegration, { integration: 'based', mode: 'sync', runKey: 'late/clone' } as RunInput);
      expect(Date.now() - t).toBeLessThan(2_000); // no wait for the clone's writer
      expect(await warningsOf('late/clone')).toEqual([]);
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      await writer.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(clone)} WITH (FORCE)`);
      await admin.end();
      await base.drop();
    }
  });

  it('a writer of one partition (which never locks the parent) is waited for too (the review)', async () => {
    await sql(src.url, `CREATE TABLE public.parted (id bigint, updated_at timestamptz NOT NULL DEFAULT now(), v text, PRIMARY KEY (id, updated_at)) PARTITION BY RANGE (updated_at);
      CREATE TABLE public.parted_all PARTITION OF public.parted FOR VALUES FROM ('2000-01-01') TO ('2100-01-01'); CREATE INDEX ON public.parted (updated_at, id)`);
    const config = parseConfig({
      integrations: [{ id: 'parted', source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.parted', cursor: ['updated_at', 'id'], writersWait: '300ms' }, sink: { kind: 'postgres', url: '${DST_URL}', table: 'public.parted_copy', key: ['id', 'updated_at'], create: true } }],
    });
    const c = new pg.Client({ connectionString: src.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query(`INSERT INTO public.parted_all (id, v) VALUES (1, 'straight into the partition')`);
      await sync(config, 'late/part', 'parted');
      expect(await warningsOf('late/part')).toContainEqual(expect.stringMatching(/^1 transaction\(s\) writing public\.parted were still open after this run waited 0\.3 s/));
    } finally {
      await c.query('ROLLBACK');
      await c.end();
    }
  });
});
