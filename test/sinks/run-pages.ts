import type pg from 'pg';
import { ordersConfig } from '../helpers/fixtures';
import { createSource } from '../../src/sources/create-source';
import { HttpSink } from '../../src/sinks/http';
import { ENV, sinkConfig } from './helpers';

export interface RunPagesOptions {
  state: pg.Client;
  /** the database holding public.orders (the source) */
  srcUrl: string;
  apiUrl: string;
  integration: string;
  concurrency?: number;
  /** that page is sent, then its transaction rolls back and the run stops (a worker killed before committing) */
  crashAtPage?: number;
  /** a backfill: the checkpoint is ignored */
  fromStart?: boolean;
  /** after each commit */
  onCommit?: (page: number) => void;
}

/**
 * What a run does with the HTTP sink (the page loop's part, played here): pages of the real PostgreSQL
 * source after the checkpoint (table test_checkpoint (integration text PRIMARY KEY, cursor jsonb)); per page one transaction holding the sink's ledger
 * rows and dead letters and the checkpoint. Returns the number of pages read.
 */
export async function runPages(o: RunPagesOptions): Promise<number> {
  const config = ordersConfig({ lag: 0 });
  const source = await createSource(config.integrations[0]!.source, o.integration, { SRC_URL: o.srcUrl });
  const plan = await source.prepare({});
  const sink = new HttpSink(sinkConfig(o.apiUrl, { concurrency: o.concurrency ?? 8 }), { integration: o.integration, env: ENV });
  await sink.prepare(plan.columns);
  const saved = o.fromStart ? undefined : (await o.state.query<{ cursor: unknown }>('SELECT cursor FROM test_checkpoint WHERE integration = $1::text', [o.integration])).rows[0]?.cursor;
  let pages = 0;
  try {
    for await (const page of source.pages(source.parseCursor(saved ?? null), { limit: 25 })) {
      pages++;
      await o.state.query('BEGIN');
      await sink.write(o.state, { rows: page.rows, cursor: page.cursor }, { integration: o.integration, runId: 'r' });
      if (pages === o.crashAtPage) {
        await o.state.query('ROLLBACK');
        break;
      }
      await o.state.query('INSERT INTO test_checkpoint VALUES ($1::text, $2::jsonb) ON CONFLICT (integration) DO UPDATE SET cursor = EXCLUDED.cursor', [o.integration, JSON.stringify(page.cursor)]);
      await o.state.query('COMMIT');
      o.onCommit?.(pages);
    }
  } finally {
    await source.close();
    await sink.close();
  }
  return pages;
}
