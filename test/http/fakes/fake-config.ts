import { parseConfig, type Config } from '../../../src/config';
import { ORDER_COLUMNS, TABLE } from '../helpers';

/** One integration `api` reading a fake API (at ${API_URL}) into api.orders. */
export function fakeConfig(source: Record<string, unknown>, integration: Record<string, unknown> = {}): Config {
  return parseConfig({
    integrations: [
      {
        id: 'api',
        source: { kind: 'http', columns: ORDER_COLUMNS, backoff: { initial: '20ms', max: '200ms' }, ...source },
        sink: { url: '${DST_URL}', table: TABLE, key: ['id'], create: true },
        batchSize: 100,
        ...integration,
      },
    ],
  });
}
