/**
 * The HTTP client's own cost, without PostgreSQL: the http source reads every page of a local zero-latency
 * API (bench/lib/fast-api.ts, its own process) as COPY text and drops it. Prints records/s and this
 * process's CPU per record (process.cpuUsage: fetch, decoding, JSON.parse, cells, COPY text).
 *   npx tsx bench/lib/fast-api-client-cost.ts [--records 200000] [--runs 3] [--page 1000]
 */
import { parseConfig } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { ORDER_COLUMN_TYPES } from '../../src/mock-api';
import { createHttpSource } from '../../src/sources/http';
import { startFastApi } from './fast-api-process';
import type { Shipped } from './shipped';

export interface ClientCost {
  records: number;
  seconds: number;
  cpuUsPerRecord: number;
}

/**
 * One complete read of the API's orders (starting_after, `page` records per request) as COPY pages, by `code`: the
 * bench passes the build as it ships (shipped.ts); run alone, this script reads with the checkout's code through tsx.
 */
export async function readAllAsCopy(url: string, page: number, code: Pick<Shipped, 'parseConfig' | 'createHttpSource'> = { parseConfig, createHttpSource }): Promise<ClientCost> {
  const cfg = code.parseConfig({
    integrations: [
      {
        id: 'client-cost',
        source: { kind: 'http', url: `${url}/v1/orders`, records: 'data', columns: ORDER_COLUMN_TYPES, pagination: { style: 'starting_after', idField: 'id' }, pageSize: page },
        sink: { url: 'postgres://unused/db', table: 'x', key: ['id'] },
        batchSize: page,
      },
    ],
  });
  const source = await code.createHttpSource(cfg.integrations[0]!.source as HttpSourceConfig, (v) => v);
  await source.prepare({});
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let records = 0;
  let bytes = 0;
  for await (const p of source.copyPages!(null, { limit: page })) {
    records += p.count;
    bytes += p.data.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await source.close();
  if (bytes === 0) throw new Error('no COPY data');
  return { records, seconds, cpuUsPerRecord: (cpu.user + cpu.system) / records };
}

async function main(): Promise<void> {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? dflt : Number(process.argv[i + 1]);
  };
  const records = arg('records', 200_000);
  const api = await startFastApi(process.cwd(), { records, seed: 7, latencyMs: 0 });
  try {
    for (let r = 0; r < arg('runs', 3); r++) {
      const c = await readAllAsCopy(api.url, arg('page', 1000));
      if (c.records !== records) throw new Error(`read ${c.records} of ${records}`);
      process.stdout.write(`${c.records} records in ${c.seconds.toFixed(2)} s = ${Math.round(c.records / c.seconds)} records/s; client CPU ${c.cpuUsPerRecord.toFixed(1)} µs/record\n`);
    }
  } finally {
    await api.stop();
  }
}

if (process.argv[1]?.endsWith('fast-api-client-cost.ts')) void main();
