import type { Command } from 'commander';
import { registerCancel } from './cancel-command';
import { registerCheckpoint } from './checkpoint-command';
import { registerCodecServer } from './codec-server-command';
import { registerDeadLetters } from './dead-letters-command';
import { registerDemo } from './demo-command';
import { registerDev } from './dev';
import { registerInstances } from './instances-command';
import { lazy } from './lazy';
import { registerMockApi } from './mock-api-command';
import { registerRunCommands } from './run-commands';
import { registerRuns } from './runs-command';
import { registerSchedule } from './schedule-command';
import { registerStatus } from './status-command';
import { registerTune } from './tune-command';
import { registerUi } from './ui-command';
import { registerVerify } from './verify-command';
import { registerWorker } from './worker-command';

/** `<template>/<instance-id>`, as commands taking `<id>` accept it (see src/instances/instance-id.ts). */
const INSTANCE_ARG = /^[a-z0-9][a-z0-9_-]{0,62}\/[a-z0-9][a-z0-9_-]{0,62}$/;

/** One line per command; each lives in its own file. */
export function registerCommands(program: Command): void {
  // An instance id argument is resolved (from the state database) before any command's action runs.
  program.hook('preAction', async (_program, action) => {
    // `instances …` takes a template and an instance id as two arguments: they name no instance yet.
    if (action.parent?.name() === 'instances') return;
    const ids = action.args.filter((a) => INSTANCE_ARG.test(a));
    if (ids.length) await (await lazy('./context')).preloadInstances(action, ids);
  });
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
  registerInstances(program);
  registerDemo(program);
  registerDev(program);
  registerMockApi(program);
  registerCodecServer(program);
  registerUi(program);
}
