import type pg from 'pg';
import type { QualifiedName } from '../../config/identifiers';
import type { KeysetCursor } from '../../cursor/cursor';
import { keysetPageQuery, type KeysetColumn } from '../../cursor/keyset-sql';

/**
 * Keys sampled to cut a key range into shards: about 4 a page of the MIN_SAMPLE_PAGES. The pages set the evenness
 * (a page's rows are neighbouring keys); the keys kept set the cost, sorted and sent as text: 20,000 took 89 ms
 * and 8,000 43 ms on issue 16's 1M-row table, the largest shard 5.5 % and 4.8 % above a quarter (medians of 25
 * plans of 4 shards), 4,000 28 ms but 12 % in one plan of ten.
 */
const SPLIT_SAMPLE_ROWS = 8_000;
/** Most keys one sample may hold; a sample this full was drawn from too many pages and is drawn again, smaller. */
const MAX_SAMPLE_ROWS = SPLIT_SAMPLE_ROWS * 4;
/**
 * Pages a sample reads at least (or a quarter of the table, if less), keeping only some of their rows. A
 * table written in cursor order holds neighbouring keys on each page, so a block sample is worth about one
 * key per page, not per row: 165 pages of a 1M-row table (20,000 keys) left 4 shards 291k / 274k / 218k / 215k
 * rows (issue 16's bench); 2,000 pages put each boundary within about 1 % of the table.
 */
const MIN_SAMPLE_PAGES = 2_000;
const MAX_SAMPLE_SHARE = 25;

export interface KeyRange {
  table: QualifiedName;
  keyset: KeysetColumn[];
  /** exclusive lower end (null: the start) */
  after: KeysetCursor;
  /** exclusive upper bound on the first cursor column (the run's high-water mark) */
  upper: string | null;
  /** rows in the whole table, estimated (estimate-rows.ts: never 0 for a table that has rows) */
  tableRows: number;
  /** the table's size in pages (0 when unknown: the sample is then sized by rows alone) */
  tablePages?: number;
}

/**
 * Shard boundaries: the keyset of a TABLESAMPLE SYSTEM block sample across the whole table, sized for
 * about SPLIT_SAMPLE_ROWS keys from at least MIN_SAMPLE_PAGES pages (pages, not the table, are read; rows of
 * them kept at random: `WHERE random() < keep`), restricted to the range, sorted, and
 * cut at equal counts. Sampled rows are real rows, so each boundary is a valid cursor; a shard ends at
 * one (inclusive), the next starts after it.
 * The sample is never cut by an ORDER BY … LIMIT (that would keep only the lowest keys, and every shard
 * but the last would be small): a sample that comes back full (the table is larger than estimated) is
 * drawn again from fewer pages; one with too few keys in the range is replaced by the range's own keys
 * when they fit in one read, else drawn again from more pages (at most half the table).
 */
export async function splitRange(client: pg.Client, r: KeyRange, parts: number): Promise<KeysetCursor[]> {
  if (parts < 2) return [];
  const select = r.keyset.map((c) => c.name);
  // The share of pages read for a sample of `pct` % of the rows, and the share of their rows kept.
  const pagesPct = r.tablePages ? Math.min(MAX_SAMPLE_SHARE, (MIN_SAMPLE_PAGES * 100) / r.tablePages) : 0;
  const read = async (pct: number | undefined) => {
    const blocks = pct === undefined ? undefined : Math.min(100, Math.max(pct, pagesPct));
    const keep = pct === undefined || blocks === undefined ? undefined : pct / blocks;
    const q = keysetPageQuery({ table: r.table, select, cursor: r.keyset, after: r.after, upper: r.upper, limit: MAX_SAMPLE_ROWS + 1, ...(blocks !== undefined ? { sample: blocks } : {}), ...(keep !== undefined ? { keep } : {}) });
    return (await client.query<string[]>({ text: q.text, values: q.values, rowMode: 'array' })).rows;
  };
  // A table that fits in one read gives its own keys: exact shards for the cost of a sample. A 40 % block sample of
  // a 20,000-row table (300 pages) once left a shard 46 % above a quarter (a CI run).
  let pct = r.tableRows <= MAX_SAMPLE_ROWS ? 100 : (SPLIT_SAMPLE_ROWS * 100) / r.tableRows;
  let rangeIsLarge = false;
  let keys: string[][] = [];
  for (let tries = 0; tries < 6; tries++) {
    const sampled = pct < 100;
    keys = await read(sampled ? pct : undefined);
    if (keys.length > MAX_SAMPLE_ROWS) {
      // More rows than estimated: draw again from about an eighth of the pages.
      pct = ((sampled ? pct : 100) * SPLIT_SAMPLE_ROWS) / (keys.length * 2);
      rangeIsLarge = true;
      continue;
    }
    if (!sampled || keys.length >= parts * 10) return cutAtEqualCounts(keys, parts);
    // Few sampled keys in the range: if the whole range fits in one read, its keys are exact.
    if (!rangeIsLarge) {
      const all = await read(undefined);
      if (all.length <= MAX_SAMPLE_ROWS) return cutAtEqualCounts(all, parts);
      rangeIsLarge = true;
    }
    pct = Math.min(50, pct * 10);
  }
  // Still few keys (a narrow range of a huge table): cut what was sampled; fewer, coarser shards.
  return cutAtEqualCounts(keys.slice(0, MAX_SAMPLE_ROWS), parts);
}

/** Up to parts - 1 distinct boundaries from sorted keys, each closing a part of about equal count. */
export function cutAtEqualCounts(keys: string[][], parts: number): string[][] {
  const out: string[][] = [];
  for (let k = 1; k < parts; k++) {
    const row = keys[Math.floor((k * keys.length) / parts) - 1];
    if (row && (out.length === 0 || out[out.length - 1]!.join('\u0000') !== row.join('\u0000'))) out.push(row);
  }
  return out;
}
