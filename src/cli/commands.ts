import type { Command } from 'commander';
import { registerCancel } from './cancel-command';
import { registerCheckpoint } from './checkpoint-command';
import { registerCodecServer } from './codec-server-command';
import { registerDeadLetters } from './dead-letters-command';
import { registerDemo } from './demo-command';
import { registerDev } from './dev';
import { registerMockApi } from './mock-api-command';
import { registerRunCommands } from './run-commands';
import { registerRuns } from './runs-command';
import { registerSchedule } from './schedule-command';
import { registerStatus } from './status-command';
import { registerTune } from './tune-command';
import { registerUi } from './ui-command';
import { registerVerify } from './verify-command';
import { registerWorker } from './worker-command';

/** One line per command; each lives in its own file. */
export function registerCommands(program: Command): void {
  registerWorker(program);
  registerRunCommands(program);
  registerStatus(program);
  registerCancel(program);
  registerCheckpoint(program);
  registerTune(program);
  registerRuns(program);
  registerDeadLetters(program);
  registerVerify(program);
  registerSchedule(program);
  registerDemo(program);
  registerDev(program);
  registerMockApi(program);
  registerCodecServer(program);
  registerUi(program);
}
