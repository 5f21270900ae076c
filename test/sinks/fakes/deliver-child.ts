/**
 * A delivering process to kill -9 (test/sinks/postgres-to-api.test.ts): runs pages of public.orders into the
 * API from the checkpoint, printing "committed N" after each page. argv: stateUrl apiUrl integration.
 */
import pg from 'pg';
import { runPages } from '../run-pages';

async function main(): Promise<void> {
  const [stateUrl, apiUrl, integration] = process.argv.slice(2) as [string, string, string];
  const state = new pg.Client({ connectionString: stateUrl });
  await state.connect();
  await runPages({ state, srcUrl: stateUrl, apiUrl, integration, concurrency: 4, onCommit: (n) => console.log(`committed ${n}`) });
  await state.end();
  console.log('done');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
