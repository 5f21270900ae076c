import { parseConfig, type Config, type Integration, type PostgresSourceConfig } from '../../src/config';
import { postgresSinkOf, type PostgresSinkConfig } from '../../src/config/sink-schema';
import { tableDigest } from '../lib/db';
import { NEW_ID_OFFSET, TARGET_TABLE } from '../lib/targets';
import type { BenchContext } from './types';

export const INTEGRATION = 'bench';

/** The integration both the bare loop and the worker run: source table → bench.orders, key id, lag 0. */
export function benchIntegration(ctx: Pick<BenchContext, 'sourceTable' | 'batchSize'>, extra: Record<string, unknown> = {}) {
  return {
    id: INTEGRATION,
    source: { kind: 'postgres' as const, url: '${SRC_URL}', table: ctx.sourceTable, cursor: ['updated_at', 'id'], lag: 0 },
    sink: { kind: 'postgres' as const, url: '${DST_URL}', table: TARGET_TABLE, key: ['id'], create: true },
    batchSize: ctx.batchSize,
    ...extra,
  };
}

export function benchConfig(ctx: Pick<BenchContext, 'sourceTable' | 'batchSize'>, extra: Record<string, unknown> = {}): Config {
  return parseConfig({ integrations: [benchIntegration(ctx, extra)] }, 'bench config');
}

export function benchEnv(ctx: Pick<BenchContext, 'srcUrl' | 'dstUrl'>): Record<string, string> {
  return { SRC_URL: ctx.srcUrl, DST_URL: ctx.dstUrl };
}

/** The target equals the source (rows of ids below the "all new" offset when `expectExtra` rows sit above it). */
export async function checkCopy(ctx: BenchContext, expectExtra = 0): Promise<string | undefined> {
  const got = await tableDigest(ctx.dstUrl, TARGET_TABLE, `id < ${NEW_ID_OFFSET}`);
  if (got.count !== ctx.sourceDigest.count || got.hash !== ctx.sourceDigest.hash) {
    return `target differs from source: ${got.count} rows (hash ${got.hash}) vs ${ctx.sourceDigest.count} (hash ${ctx.sourceDigest.hash})`;
  }
  if (expectExtra) {
    const extra = await tableDigest(ctx.dstUrl, TARGET_TABLE, `id >= ${NEW_ID_OFFSET}`);
    if (extra.count !== expectExtra) return `pre-filled rows: ${extra.count}, expected ${expectExtra}`;
  }
  return undefined;
}

export function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** The bench's source is always PostgreSQL; narrows the config's source union. */
export function pgSource(it: Integration): PostgresSourceConfig {
  if (it.source.kind !== 'postgres') throw new Error(`bench integration ${it.id}: expected a postgres source, got ${it.source.kind}`);
  return it.source as PostgresSourceConfig;
}

/** The bench's sink is always PostgreSQL; narrows the config's sink union. */
export function pgSink(it: Integration): PostgresSinkConfig {
  return postgresSinkOf(it, 'the bench');
}
