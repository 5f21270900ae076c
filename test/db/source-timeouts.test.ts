import { CancelledFailure } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { toFailure } from '../../src/activities/failures';
import { parseConfig, type PostgresSourceConfig } from '../../src/config';
import { connect } from '../../src/pg/connect';
import { isPermanent } from '../../src/errors';
import { PostgresSource, SourceStatementTimeoutError } from '../../src/sources/postgres/postgres-source';
import { asRole, seedOrders, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let db: TestDatabase;
let locker: pg.Client | undefined;

beforeAll(async () => {
  db = await createTestDatabase('timeouts');
  await seedOrders(db.url, { rows: 2_000 });
});
afterAll(async () => {
  await locker?.end().catch(() => undefined);
  await db?.drop();
});
beforeEach(async () => {
  await locker?.end().catch(() => undefined);
  locker = undefined;
});

async function source(extra: Record<string, unknown> = {}, url = db.url, onClient?: (c: pg.Client) => void): Promise<PostgresSource> {
  const cfg = parseConfig({
    integrations: [{ id: 'x', source: { kind: 'postgres', url, table: 'public.orders', cursor: ['updated_at', 'id'], ...extra }, sink: { table: 't', key: ['id'] } }],
  });
  const client = await connect(url, { applicationName: 'tidemark-source-test' });
  onClient?.(client);
  return new PostgresSource(client, cfg.integrations[0]!.source as PostgresSourceConfig);
}

/** Holds an ACCESS EXCLUSIVE lock on the source table until the test ends: every read of it blocks. */
async function lockTable(): Promise<void> {
  locker = await connect(db.url);
  await locker.query('BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
}

interface Backend {
  pid: string;
  state: string;
  wait_event_type: string | null;
}

async function sourceBackends(): Promise<Backend[]> {
  return sql<Backend>(db.url, `SELECT pid::text, state, wait_event_type FROM pg_stat_activity WHERE datname = $1::text AND application_name = 'tidemark-source-test'`, [db.name]);
}

/** Waits until the source's backend is blocked on the lock. */
async function blockedOnLock(): Promise<Backend> {
  for (let i = 0; i < 100; i++) {
    const b = (await sourceBackends()).find((x) => x.state === 'active' && x.wait_event_type === 'Lock');
    if (b) return b;
    await sleep(50);
  }
  throw new Error('the source query never blocked on the lock');
}

async function firstPage(pages: AsyncIterable<unknown>): Promise<unknown> {
  for await (const p of pages) return p;
  return undefined;
}

describe('bounded source statements', () => {
  it('a read blocked past source.statementTimeout fails with a retryable error naming statement_timeout', async () => {
    const s = await source({ statementTimeout: '1s' });
    await s.prepare({});
    await lockTable();
    const started = Date.now();
    const err = await firstPage(s.pages(null, { limit: 100 })).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(SourceStatementTimeoutError);
    expect(String(err)).toMatch(/reading a page on source table public\.orders ran longer than source\.statementTimeout \(1s\).*statement_timeout/);
    expect(isPermanent(err)).toBe(false);
    expect(toFailure(err)).toBe(err); // not turned into a non-retryable failure: the attempt is retried
    await locker!.query('ROLLBACK');
    // The session is still usable: the next attempt's read goes through.
    expect(((await firstPage(s.copyPages(null, { limit: 100 }))) as { count: number }).count).toBe(100);
    await s.close();
  });

  it('aborting a blocked read cancels the query on the server and returns at once', async () => {
    const s = await source(); // default statementTimeout: 5 minutes
    await s.prepare({});
    await lockTable();
    const abort = new AbortController();
    const read = firstPage(s.copyPages(null, { limit: 100, signal: abort.signal })).catch((e: unknown) => e);
    const backend = await blockedOnLock();
    const started = Date.now();
    abort.abort(new Error('run cancelled by the test'));
    const err = await read;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(String(err)).toMatch(/run cancelled by the test/);
    // The lock is still held, yet the backend no longer runs (or waits for) the query.
    const after = (await sourceBackends()).find((b) => b.pid === backend.pid);
    expect(after?.state).toBe('idle');
    const closing = Date.now();
    await s.close();
    expect(Date.now() - closing).toBeLessThan(2_000);
    await sleep(200);
    expect((await sourceBackends()).map((b) => b.pid)).not.toContain(backend.pid);
  });

  it.each(['pages', 'copyPages'] as const)('close() while a statement hangs (%s) cancels it and disconnects at once', async (kind) => {
    const s = await source();
    await s.prepare({});
    await lockTable();
    const read = firstPage(s[kind](null, { limit: 100 })).catch((e: unknown) => e);
    const backend = await blockedOnLock();
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await read).toBeInstanceOf(Error);
    await sleep(200);
    // Nothing of the source is left on the server, though the lock is still held.
    expect((await sourceBackends()).map((b) => b.pid)).not.toContain(backend.pid);
  });

  it('an abort before the read starts sends no query', async () => {
    const s = await source();
    await s.prepare({});
    const abort = new AbortController();
    abort.abort(new Error('already cancelled'));
    await expect(firstPage(s.pages(null, { limit: 10, signal: abort.signal }))).rejects.toThrow(/already cancelled/);
    // A worker shutdown is not a cancellation of the run: a plain (retryable) error, resumed elsewhere.
    const shutdown = new AbortController();
    shutdown.abort(new CancelledFailure('WORKER_SHUTDOWN'));
    const err = await firstPage(s.copyPages(null, { limit: 10, signal: shutdown.signal })).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(CancelledFailure);
    expect(String(err)).toMatch(/worker shutting down/);
    await s.close();
  });
});

describe('a cancel when the role can open no second session (acceptance L)', () => {
  // CONNECTION LIMIT 1: the source's own session takes the role's one slot, so pg_cancel_backend cannot be sent.
  const role = `tm_cancel_${process.pid}`;
  beforeAll(async () => {
    await sql(db.url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw' CONNECTION LIMIT 1`);
    await sql(db.url, `GRANT SELECT ON public.orders TO ${role}`);
  });
  afterAll(async () => {
    await sql(db.url, `DROP OWNED BY ${role}`).catch(() => undefined);
    await sql(db.url.replace(/\/[^/]*$/, '/postgres'), `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });

  it('an aborted read is still cancelled on the server: the protocol CancelRequest takes no slot', async () => {
    const s = await source({}, asRole(db.url, role));
    await s.prepare({});
    await lockTable();
    const abort = new AbortController();
    const read = firstPage(s.copyPages(null, { limit: 100, signal: abort.signal })).catch((e: unknown) => e);
    const backend = await blockedOnLock();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      abort.abort(new Error('run cancelled by the test'));
      expect(String(await read)).toMatch(/run cancelled by the test/);
      await sleep(300);
      expect((await sourceBackends()).find((b) => b.pid === backend.pid)?.state).toBe('idle');
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      await s.close();
    }
  });

  it('when no cancel can be sent at all, it says so: the backend, and how to end its statement', async () => {
    let client: pg.Client | undefined;
    const s = await source({}, asRole(db.url, role), (c) => (client = c));
    await s.prepare({});
    await lockTable();
    const read = firstPage(s.copyPages(null, { limit: 100 })).catch((e: unknown) => e);
    const backend = await blockedOnLock();
    // A session without a cancel key, as behind a pooler that does not pass BackendKeyData on.
    (client as unknown as { secretKey: number | null }).secretKey = null;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await s.close();
      expect(await read).toBeInstanceOf(Error);
      expect(warn).toHaveBeenCalledTimes(1);
      const line = String(warn.mock.calls[0]![0]);
      expect(line).toContain(`could not cancel the statement on source table public.orders (backend ${backend.pid})`);
      expect(line).toContain(`SELECT pg_cancel_backend(${backend.pid})`);
      expect(line).toMatch(/too many connections for role/);
      expect(line).toMatch(/no cancel key/);
      // It is true: the statement still waits on the server.
      expect((await sourceBackends()).find((b) => b.pid === backend.pid)?.state).toBe('active');
    } finally {
      warn.mockRestore();
      await sql(db.url, 'SELECT pg_cancel_backend($1::int)', [backend.pid]);
    }
  });
});
