import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../../src/config';
import { parseConfigText } from '../../src/config/load-config';
import { ORDER_COLUMNS, TABLE } from './helpers';

export interface ExampleOptions {
  /** keep the example's own columns (they already are the orders' columns, e.g. GraphQL's node.* paths) */
  ownColumns?: boolean;
  /** source fields to change after the file has loaded as written (a page size, a request body, …) */
  source?: Record<string, unknown>;
}

/**
 * examples/<name>.yaml as the tests run it: the file must load as it is (real columns and all); then its
 * source reads the fake (its origin replaced by ${API_URL}) into the orders table the fakes serve, with
 * the test's columns unless `ownColumns`, fast backoff and no request rate cap.
 */
export function exampleConfig(name: string, o: ExampleOptions = {}): Config {
  const file = join(__dirname, '../../examples', `${name}.yaml`);
  const text = readFileSync(file, 'utf8');
  parseConfigText(text, file);
  const raw = parseYaml(text) as { integrations: { source: Record<string, unknown>; sink: { key: string[] } }[] };
  const source = raw.integrations[0]!.source;
  const url = String(source.url).replace(/^https:\/\/[^/]+/, '${API_URL}');
  const columns = o.ownColumns ? source.columns : ORDER_COLUMNS;
  return parseConfig({
    integrations: [{ id: 'api', source: { ...source, url, columns, backoff: { initial: '20ms', max: '200ms' }, requestsPerSecond: undefined, ...o.source }, sink: { url: '${DST_URL}', table: TABLE, key: o.ownColumns ? raw.integrations[0]!.sink.key : ['id'], create: true }, batchSize: 100 }],
  });
}
