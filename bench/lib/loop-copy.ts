/**
 * An instrumented copy of tidemark's run loop (src/activities/run-integration.ts + PostgresSink.writeCopy),
 * to find where the time goes and to try fast paths before anyone touches src/. It calls the real
 * source (PostgresSource.copyPages / pages), the real prefetch combinator, the real COPY encoder, the real
 * upsert SQL and the real state statements; only the sink's sequencing is written out so each step can be timed.
 *
 * Options (TIDEMARK_LOOP = what the activity does today):
 *   read:      'copy'  PostgresSource.copyPages: COPY (keyset page) TO STDOUT, bytes passed through
 *              'rows'  PostgresSource.pages + encodeCopyRows (the path mapping/validation takes)
 *   prefetch:  the real prefetch() combinator (page k+1 read while page k is written)
 *   write:     'auto'       COPY straight into the target while it was empty at start, staged upsert after
 *                           the first unique violation (what PostgresSink did before issue #16; it now does 'optimistic')
 *              'optimistic' COPY straight into the target whatever it holds; staged upsert from the first
 *                           unique violation on (a page that COPYs without a conflict had only new keys, so
 *                           the insert equals the upsert)
 *              'stage'      always COPY into the temp stage + INSERT … ON CONFLICT
 *   distinct:  keep SELECT DISTINCT ON (key) … ORDER BY key, tm_ord DESC in the upsert (false: plain SELECT;
 *              valid when the sink key is unique in the source, as here)
 *   prefilter: upsert only staged rows that differ from the target (NOT EXISTS an equal row): ON CONFLICT
 *              DO UPDATE … WHERE <unchanged> still locks each conflicting row; the anti-join only reads
 *   rowsRead:  the separate autocommitted `UPDATE tidemark.runs SET rows_read …` before each page (tidemark before issue #16;
 *              today rows_read is counted in the page's one state statement)
 *   estimate:  the count(*) for progress before the first page
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Integration } from '../../src/config';
import { quoteIdent, quoteTable, splitTableName } from '../../src/config/identifiers';
import { closeQuietly, connect } from '../../src/pg/connect';
import { migrate } from '../../src/db/migrate';
import * as state from '../../src/db/state';
import { encodeCopyRows } from '../../src/pg/copy-text';
import { upsertFromStageSql } from '../../src/sinks/upsert-sql';
import { prefetch } from '../../src/sources/combinators/prefetch';
import { PostgresSource } from '../../src/sources/postgres/postgres-source';
import type { Cursor } from '../../src/cursor/cursor';
import { pgSink, pgSource } from '../paths/common';
import { backendPid } from './db';
import { cpuSecondsOf } from './proc';

export interface LoopOptions {
  read: 'rows' | 'copy';
  prefetch: boolean;
  write: 'auto' | 'optimistic' | 'stage';
  distinct: boolean;
  prefilter: boolean;
  rowsRead: boolean;
  estimate: boolean;
}

export const TIDEMARK_LOOP: LoopOptions = { read: 'copy', prefetch: true, write: 'optimistic', distinct: true, prefilter: false, rowsRead: false, estimate: true };

export interface PhaseTime {
  /** wall seconds spent in the phase */
  wall: number;
  /** CPU seconds of this Node process during the phase */
  nodeCpu: number;
}

export interface LoopResult {
  seconds: number;
  rows: number;
  pages: number;
  /** with prefetch, 'read' runs concurrently with the writes and 'read:wait' is the time the loop waited for it */
  phases: Record<string, PhaseTime>;
  /** CPU seconds over the whole run: this process, the source's backend, the sink's backend (local servers only) */
  cpu: { node: number; sourceBackend?: number; sinkBackend?: number };
  /** pages written by COPY straight into the target, and pages whose direct COPY hit a conflict and were redone */
  directPages: number;
  fallbacks: number;
}

interface AnyPage {
  count: number;
  cursor: Cursor;
  data: Buffer;
}

class Phases {
  readonly t: Record<string, PhaseTime> = {};
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    try {
      return await fn();
    } finally {
      const c = process.cpuUsage(c0);
      const p = (this.t[name] ??= { wall: 0, nodeCpu: 0 });
      p.wall += (performance.now() - w0) / 1000;
      p.nodeCpu += (c.user + c.system) / 1e6;
    }
  }
}

/** Times each `next()` of an iterator as 'read' (when prefetching, these overlap the writes). */
async function* timed<T>(ph: Phases, pages: AsyncIterable<T>): AsyncGenerator<T> {
  const it = pages[Symbol.asyncIterator]();
  for (;;) {
    const r = await ph.time('read', () => it.next());
    if (r.done) return;
    yield r.value;
  }
}

export async function runLoopCopy(it: Integration, urls: { source: string; sink: string }, runKey: string, opts: LoopOptions): Promise<LoopResult> {
  const ph = new Phases();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const db = await ph.time('setup', () => connect(urls.sink, { applicationName: 'bench-loop-sink' }));
  const srcClient = await ph.time('setup', () => connect(urls.source, { applicationName: 'bench-loop-source' }));
  const srcCfg = pgSource(it);
  const sinkCfg = pgSink(it);
  const source = new PostgresSource(srcClient, srcCfg);
  const pids = { src: await backendPid(srcClient), dst: await backendPid(db) };
  const be0 = { src: cpuSecondsOf(pids.src), dst: cpuSecondsOf(pids.dst) };
  let fallbacks = 0;
  let directPages = 0;
  try {
    const target = quoteTable(splitTableName(sinkCfg.table));
    const plan = await ph.time('setup', async () => {
      await migrate(db);
      const p = await source.prepare({});
      await state.claimCheckpoint(db, { integration: it.id, slot: 'backfill', owner: runKey, cursor: null, highWater: p.highWater, reset: true });
      await state.startRun(db, runKey, it.id, 'backfill', null);
      return p;
    });
    const names = plan.columns.map((c) => c.name);
    const cols = names.map(quoteIdent).join(', ');
    const stage = 'tm_bench_stage';
    let direct = await ph.time('setup', async () => {
      await db.query(`DROP TABLE IF EXISTS pg_temp.${stage}`);
      await db.query(`CREATE TEMP TABLE ${stage} ON COMMIT DELETE ROWS AS SELECT ${cols} FROM ${target} WITH NO DATA`);
      await db.query(`ALTER TABLE pg_temp.${stage} ADD COLUMN tm_ord bigint GENERATED ALWAYS AS IDENTITY`);
      const empty = await db.query<{ empty: string }>(`SELECT (NOT EXISTS (SELECT 1 FROM ${target}))::text AS empty`);
      return opts.write === 'optimistic' || (opts.write === 'auto' && empty.rows[0]?.empty === 'true');
    });
    let upsert = upsertFromStageSql(target, `pg_temp.${stage}`, names, sinkCfg.key);
    if (!opts.distinct) upsert = upsert.replace(/SELECT DISTINCT ON \([^)]*\) (.*?) FROM (\S+) ORDER BY .*? tm_ord DESC/, 'SELECT $1 FROM $2');
    if (opts.prefilter) upsert = prefiltered(upsert, target, names, sinkCfg.key);
    if (opts.estimate) await ph.time('setup:estimate', () => source.estimateRemaining(null));

    const readOpts = { limit: it.batchSize };
    const raw: AsyncIterable<AnyPage> =
      opts.read === 'copy'
        ? source.copyPages(null, readOpts)
        : (async function* () {
            for await (const p of source.pages(null, readOpts)) {
              const data = await ph.time('encode', async () => Buffer.from(encodeCopyRows(p.rows)));
              yield { data, count: p.rows.length, cursor: p.cursor };
            }
          })();
    const pages = opts.prefetch ? prefetch(timed(ph, raw)) : timed(ph, raw);

    const copyIn = (into: string, data: Buffer) => pipeline(Readable.from([data]), db.query(copyFrom(`COPY ${into} (${cols}) FROM STDIN`)));
    const inTx = async (page: AnyPage, write: () => Promise<number>) => {
      await ph.time('tx:begin', () => db.query('BEGIN'));
      try {
        const written = await write();
        await ph.time('tx:state', async () => {
          const read = opts.rowsRead ? 0 : page.count;
          await state.recordPage(db, { integration: it.id, slot: 'backfill', runId: runKey, cursor: page.cursor, rows: page.count, written, rejected: 0, read });
        });
        await ph.time('tx:commit', () => db.query('COMMIT'));
      } catch (err) {
        await ph.time('tx:rollback', () => db.query('ROLLBACK').catch(() => undefined));
        throw err;
      }
    };

    let rows = 0;
    let n = 0;
    const iterator = pages[Symbol.asyncIterator]();
    for (;;) {
      const r = await ph.time('read:wait', () => iterator.next());
      if (r.done) break;
      const page = r.value;
      if (opts.rowsRead) await ph.time('rows-read update', () => state.countRowsRead(db, runKey, page.count));
      let done = false;
      if (direct) {
        try {
          await inTx(page, async () => {
            await ph.time('write:copy-target', () => copyIn(target, page.data));
            return page.count;
          });
          directPages++;
          done = true;
        } catch (err) {
          if ((err as { code?: string }).code !== '23505') throw err;
          fallbacks++;
          direct = false;
        }
      }
      if (!done) {
        await inTx(page, async () => {
          await ph.time('write:copy-stage', () => copyIn(`pg_temp.${stage}`, page.data));
          const res = await ph.time('write:upsert', () => db.query(upsert));
          return res.rowCount ?? 0;
        });
      }
      rows += page.count;
      n++;
    }
    await ph.time('finish', async () => {
      await state.finishCheckpoint(db, it.id, 'backfill', runKey);
      await state.finishRun(db, runKey, 'completed');
    });
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    const be1 = { src: cpuSecondsOf(pids.src), dst: cpuSecondsOf(pids.dst) };
    // Without prefetch the wait is the read itself: keep one of them.
    if (!opts.prefetch) delete ph.t['read:wait'];
    return {
      seconds,
      rows,
      pages: n,
      phases: ph.t,
      cpu: {
        node: (c.user + c.system) / 1e6,
        sourceBackend: be0.src !== undefined && be1.src !== undefined ? be1.src - be0.src : undefined,
        sinkBackend: be0.dst !== undefined && be1.dst !== undefined ? be1.dst - be0.dst : undefined,
      },
      directPages,
      fallbacks,
    };
  } finally {
    await source.close();
    await closeQuietly(db);
  }
}

/** Wraps the upsert's SELECT so rows equal to the target's current row never reach ON CONFLICT. */
function prefiltered(upsert: string, target: string, names: string[], key: readonly string[]): string {
  const m = /^(INSERT INTO .*? \(.*?\) )(SELECT .*?)( ON CONFLICT .*)$/.exec(upsert);
  if (!m) throw new Error(`unexpected upsert shape: ${upsert}`);
  const rest = names.filter((n) => !key.includes(n)).map(quoteIdent);
  const keyEq = key.map((k) => `d.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const same = rest.length ? ` AND (${rest.map((c) => `d.${c}`).join(', ')}) IS NOT DISTINCT FROM (${rest.map((c) => `s.${c}`).join(', ')})` : '';
  return `${m[1]}SELECT * FROM (${m[2]}) s WHERE NOT EXISTS (SELECT 1 FROM ${target} d WHERE ${keyEq}${same})${m[3]}`;
}


