import { InvalidArgumentError, type Command } from 'commander';
import type { FaultOptions, MockApiOptions } from '../mock-api';
import { lazy } from './lazy';

/** What commander hands the action: every fault option, and the server's own settings with their defaults. */
interface MockApiCliOptions extends FaultOptions {
  port: number;
  host: string;
  records: number;
  seed: number;
  token?: string;
  changesPerSecond: number;
  maxPageSize?: number;
}

/** `tidemark mock-api`: a local paginated JSON API with fault injection (see src/mock-api). */
export function registerMockApi(program: Command): void {
  program
    .command('mock-api')
    .description('serve a local, changing, paginated JSON API of orders with injected faults, to try the http source against')
    .option('--port <port>', 'port to listen on (0: any free port)', int('a port number from 0 to 65535', 0, 65535), 4010)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--records <n>', 'orders in the dataset', int('a whole number of records from 0 to 5000000', 0, 5_000_000), 10_000)
    .option('--seed <n>', 'seed of the data, its changes and the random faults', int('a whole number', 0, 2 ** 32 - 1), 1)
    .option('--token <token>', 'require "Authorization: Bearer <token>" (401 otherwise)')
    .option('--fail-rate <r>', 'fraction of requests answered 500/502/503', rate, 0)
    .option('--throttle-rate <r>', 'fraction of requests answered 429 with Retry-After', rate, 0)
    .option('--rate-limit <n>', 'requests per second served; above it, 429 with Retry-After', int('a whole number of requests per second from 1', 1, 1_000_000))
    .option('--retry-after <s>', 'Retry-After of --throttle-rate answers, in seconds', int('a whole number of seconds from 0 to 3600', 0, 3600), 1)
    .option('--hang-rate <r>', 'fraction of requests never answered', rate, 0)
    .option('--drop-rate <r>', 'fraction of connections closed without an answer', rate, 0)
    .option('--truncate-rate <r>', 'fraction answered with half a JSON body', rate, 0)
    .option('--max-page-size <n>', 'a silent page cap: at most N records per answer whatever limit is asked, and no has-more hints (has_more, totals)', int('a whole number of records from 1', 1, 1_000_000))
    .option('--changes-per-second <n>', 'orders changed per second in the background', (v) => number(v, '--changes-per-second', 0, 100_000), 0)
    .action(async (opts: MockApiCliOptions) => {
      const total = opts.failRate + opts.throttleRate + opts.hangRate + opts.dropRate + opts.truncateRate;
      if (total > 1) throw new Error(`--fail-rate, --throttle-rate, --hang-rate, --drop-rate and --truncate-rate add up to ${total}: together they must be at most 1`);
      const { maxPageSize, ...rest } = opts;
      const options: MockApiOptions = { ...rest, pageCap: maxPageSize };
      const { exampleConfig, startMockApi } = await lazy('../mock-api');
      const api = await startMockApi(options).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EADDRINUSE' ? new Error(`Port ${opts.port} on ${opts.host} is already in use: pass --port <port> (0 picks a free one)`) : err;
      });
      const faults = [
        opts.failRate && `${opts.failRate * 100}% 5xx`,
        opts.throttleRate && `${opts.throttleRate * 100}% 429`,
        opts.rateLimit && `429 above ${opts.rateLimit} req/s`,
        opts.hangRate && `${opts.hangRate * 100}% hung`,
        opts.dropRate && `${opts.dropRate * 100}% dropped`,
        opts.truncateRate && `${opts.truncateRate * 100}% truncated`,
        maxPageSize && `pages silently capped at ${maxPageSize} records, no has-more hints`,
      ].filter(Boolean);
      console.log(`tidemark mock-api: ${opts.records.toLocaleString('en-US')} orders (seed ${opts.seed}) at ${api.url}`);
      console.log(`  GET ${api.url}/v1/orders          ?limit=&starting_after=ID           (pagination style starting_after)`);
      console.log(`  GET ${api.url}/v1/orders/cursor   ?limit=&cursor=TOKEN                (style cursor)`);
      console.log(`  GET ${api.url}/v1/orders/pages    ?per_page=&page=&updated_since=T    (style page)`);
      console.log(`  GET ${api.url}/v1/orders/window   ?limit=&from=A&to=B                 (style time_window)`);
      console.log(`  faults: ${faults.length ? faults.join(', ') : 'none'}; changes: ${opts.changesPerSecond}/s; auth: ${opts.token ? 'Bearer token required' : 'none'}`);
      console.log(`\nExample config (tidemark.yaml)${opts.token ? '; export MOCK_API_TOKEN=<the token>' : ''}:\n`);
      console.log(exampleConfig(api.url, !!opts.token));
      console.log('Ctrl-C to stop.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const s = api.stats();
      await api.close();
      const faulted = Object.values(s.faults).reduce((a, b) => a + b, 0);
      const cut = maxPageSize ? `, ${s.capped} cut by the page cap` : '';
      console.log(`tidemark mock-api: stopped after ${s.requests} requests (${s.served} pages served, ${faulted} faults injected${cut})`);
    });
}

function int(what: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
}

function number(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} expects a number from ${min} to ${max}`);
  return n;
}

function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a fraction from 0 to 1, e.g. 0.1');
  return n;
}
