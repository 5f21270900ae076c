import type { SourceConfig } from '../config/schema';
import { connect } from '../db/connect';
import { PostgresSource } from './postgres/postgres-source';
import type { Source } from './source';

/** Builds the source for a config; `url` is the source URL with `${ENV}` references already resolved. */
export async function createSource(cfg: SourceConfig, url: string): Promise<Source> {
  switch (cfg.kind) {
    case 'postgres':
      return new PostgresSource(await connect(url, { applicationName: 'tidemark-source' }), cfg);
  }
}
