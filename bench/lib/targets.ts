import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { COLUMNS, COLUMN_DDL } from './seed';
import { withClient } from './db';

export const TARGET_SCHEMA = 'bench';
export const TARGET_TABLE = `${TARGET_SCHEMA}.orders`;
/** Ids of the "all rows new" pre-fill: far above any source id. */
export const NEW_ID_OFFSET = 1_000_000_000_000;

export type Prefill = 'empty' | 'new' | 'changed' | 'same';

/** The same shape tidemark's `create: true` makes: the source's columns and a primary key on id. */
export async function recreateTarget(dstUrl: string): Promise<void> {
  await withClient(dstUrl, async (c) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${TARGET_SCHEMA}`);
    await c.query(`DROP TABLE IF EXISTS ${TARGET_TABLE}`);
    await c.query(`CREATE TABLE ${TARGET_TABLE} (${COLUMN_DDL}, PRIMARY KEY (id))`);
  });
}

const PREFILL_SELECT: Record<Exclude<Prefill, 'empty'>, string> = {
  new: `id + ${NEW_ID_OFFSET}, updated_at, customer, status, total, note`,
  changed: `id, updated_at - interval '1 day', customer, 'old-' || status, total + 1, note`,
  same: COLUMNS.join(', '),
};

/** A fresh target, pre-filled (for the upsert paths) as the path requires. Not timed. */
export async function prepareTarget(srcUrl: string, dstUrl: string, sourceTable: string, prefill: Prefill): Promise<void> {
  await recreateTarget(dstUrl);
  if (prefill === 'empty') return;
  await copyPipe(srcUrl, `SELECT ${PREFILL_SELECT[prefill]} FROM ${sourceTable} ORDER BY id`, dstUrl, TARGET_TABLE);
}

/**
 * `COPY (query) TO STDOUT` on one connection piped into `COPY table FROM STDIN` on another: the
 * physical reference for moving rows between two PostgreSQL databases through Node.
 */
export async function copyPipe(srcUrl: string, select: string, dstUrl: string, table: string): Promise<void> {
  await withClient(srcUrl, (src) =>
    withClient(dstUrl, async (dst) => {
      const out = src.query(copyTo(`COPY (${select}) TO STDOUT`));
      const into = dst.query(copyFrom(`COPY ${table} (${COLUMNS.join(', ')}) FROM STDIN`));
      await pipeline(out, into);
    }),
  );
}
