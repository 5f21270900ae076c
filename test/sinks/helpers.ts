import pg from 'pg';
import { httpSinkSchema, type HttpSinkConfig } from '../../src/config/http-sink-schema';
import { migrate } from '../../src/db/migrate';
import { HttpSink } from '../../src/sinks/http';
import type { SinkWriteResult } from '../../src/sinks/sink';
import type { ColumnSpec } from '../../src/sources/source';

export const TOKEN = 'tm-sink-token-Qx7vR2';
export const ENV = { API_TOKEN: TOKEN };

/** The mapped records' columns, as a page loop hands them over (PostgreSQL text values). */
export const COLUMNS: ColumnSpec[] = [
  { name: 'id', type: 'bigint', notNull: true },
  { name: 'email', type: 'text', notNull: false },
  { name: 'total', type: 'numeric(12,2)', notNull: false },
  { name: 'meta', type: 'jsonb', notNull: false },
];

export function row(id: number, version = 1): (string | null)[] {
  return [String(id), `user${id}@example.test`, (id * 1.25 + version).toFixed(2), JSON.stringify({ v: version, tags: ['a'] })];
}

export function rows(from: number, to: number, version = 1): (string | null)[][] {
  return Array.from({ length: to - from + 1 }, (_, i) => row(from + i, version));
}

export function sinkConfig(url: string, over: Record<string, unknown> = {}): HttpSinkConfig {
  return httpSinkSchema.parse({
    kind: 'http',
    url: `${url}/items`,
    key: ['id'],
    headers: { Authorization: 'Bearer ${API_TOKEN}' },
    backoff: { initial: '5ms', max: '20ms' },
    timeout: '2s',
    ...over,
  });
}

export async function stateClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await migrate(c);
  return c;
}

export async function openSink(cfg: HttpSinkConfig, integration: string): Promise<HttpSink> {
  const sink = new HttpSink(cfg, { integration, env: ENV });
  await sink.prepare(COLUMNS);
  return sink;
}

/**
 * What the page loop does with a sink: BEGIN, write, (the checkpoint would be saved here), COMMIT —
 * or ROLLBACK, to play a worker that died after sending and before committing.
 */
export async function writePage(db: pg.Client, sink: HttpSink, integration: string, page: (string | null)[][], opts: { rollback?: boolean } = {}): Promise<SinkWriteResult> {
  await db.query('BEGIN');
  try {
    const r = await sink.write(db, { rows: page, cursor: { page: 1 } }, { integration, runId: `run-${integration}` });
    await db.query(opts.rollback ? 'ROLLBACK' : 'COMMIT');
    return r;
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
}

export async function ledger(db: pg.Client, integration: string): Promise<Map<string, string>> {
  const r = await db.query<{ record_key: string; content_hash: string }>('SELECT record_key, content_hash FROM tidemark.deliveries WHERE integration = $1::text', [integration]);
  return new Map(r.rows.map((x) => [x.record_key, x.content_hash]));
}
