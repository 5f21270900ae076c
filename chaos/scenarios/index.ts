import type { ChaosContext } from '../lib/context';
import type { ScenarioResult } from '../lib/report';
import { apiFaults } from './api-faults';
import { cappedApi } from './capped-api';
import { cancelWithoutWorker } from './cancel-without-worker';
import { badInput } from './bad-input';
import { concurrentStarts } from './concurrent-starts';
import { cursorBoundaries } from './cursor-boundaries';
import { postgresRestart } from './postgres-restart';
import { realData } from './real-data';
import { secrets } from './secrets';
import { sigterm } from './sigterm';
import { sourceHang } from './source-hang';
import { verifyRepair } from './verify-repair';
import { workerKill } from './worker-kill';

export type Scenario = (ctx: ChaosContext) => Promise<ScenarioResult>;

/** Every scenario, in the order `npm run chaos` runs them. */
export const SCENARIOS: Record<string, Scenario> = {
  'worker-kill': workerKill,
  sigterm,
  'cancel-without-worker': cancelWithoutWorker,
  'postgres-restart': postgresRestart,
  'source-hang': sourceHang,
  'api-faults': apiFaults,
  'capped-api': cappedApi,
  'cursor-boundaries': cursorBoundaries,
  'bad-input': badInput,
  secrets,
  'concurrent-starts': concurrentStarts,
  verify: verifyRepair,
  'real-data': realData,
};
