/**
 * Invalid workflow inputs (as started from the Temporal UI or `temporal workflow start`) and invalid
 * CLI arguments. `expect` is what the failure message must contain: the field, or what was wrong.
 */
export interface BadWorkflowInput {
  workflow: 'syncWorkflow' | 'backfillWorkflow';
  input: unknown;
  expect: RegExp;
}

export function badWorkflowInputs(id: string): BadWorkflowInput[] {
  const sync = (input: unknown, expect: RegExp): BadWorkflowInput => ({ workflow: 'syncWorkflow', input, expect });
  const backfill = (extra: Record<string, unknown>, expect: RegExp): BadWorkflowInput => ({ workflow: 'backfillWorkflow', input: { integration: id, ...extra }, expect });
  return [
    sync(null, /expected an object/),
    sync(id, /expected an object/),
    sync([id], /expected an object/),
    sync({}, /integration/),
    sync({ integration: 5 }, /integration/),
    sync({ integration: 'Orders' }, /integration/),
    sync({ integration: `${id}; DROP TABLE x` }, /integration/),
    sync({ integration: id, from: null }, /unknown field\(s\) from/),
    sync({ integration: id, shards: 2 }, /unknown field\(s\) shards/),
    sync({ integration: 'nope' }, /unknown integration "nope"/),
    { workflow: 'backfillWorkflow', input: { integration: 42 }, expect: /integration/ },
    backfill({ shards: 0 }, /shards/),
    backfill({ shards: 65 }, /shards/),
    backfill({ shards: 1.5 }, /shards/),
    backfill({ shards: '4' }, /shards/),
    backfill({ rate: 0 }, /rate/),
    backfill({ rate: -5 }, /rate/),
    backfill({ rate: 'fast' }, /rate/),
    backfill({ rate: null }, /rate/),
    backfill({ batchSize: 0 }, /batchSize/),
    backfill({ batchSize: 100_001 }, /batchSize/),
    backfill({ batchSize: 2.5 }, /batchSize/),
    backfill({ resume: 'yes' }, /resume/),
    backfill({ tuning: { batchSize: 10 } }, /unknown field\(s\) tuning/),
    backfill({ from: 'garbage' }, /cursor/),
    backfill({ from: 42 }, /cursor/),
    backfill({ from: { updated_at: '2024-01-01' } }, /cursor/),
    backfill({ from: ['2024-01-01 00:00:00+00'] }, /cursor/),
    backfill({ from: ['not-a-time', '1'] }, /cursor/),
    backfill({ from: ['2024-01-01 00:00:00+00', 'x'] }, /cursor/),
    backfill({ from: ['2024-01-01 00:00:00+00', '99999999999999999999999'] }, /cursor/),
    backfill({ from: ['not-a-time', '1'], shards: 2 }, /cursor/),
  ];
}

export interface BadCliArgs {
  args: string[];
  expect: RegExp;
  /** the command starts a workflow, which must then fail at once (e.g. a cursor only the source can check) */
  startsWorkflow?: boolean;
}

export function badCliArgs(id: string): BadCliArgs[] {
  return [
    { args: ['backfill', id, '--shards', '0'], expect: /--shards/ },
    { args: ['backfill', id, '--shards', '65'], expect: /--shards/ },
    { args: ['backfill', id, '--shards', 'two'], expect: /--shards/ },
    { args: ['backfill', id, '--rate', '-1'], expect: /--rate/ },
    { args: ['backfill', id, '--rate', 'fast'], expect: /--rate/ },
    { args: ['backfill', id, '--batch-size', '0'], expect: /--batch-size/ },
    { args: ['backfill', id, '--from', '{not json'], expect: /--from/ },
    { args: ['sync', 'nope'], expect: /unknown integration "nope"/ },
    { args: ['sync', `${id}; DROP TABLE x`], expect: /unknown integration/ },
    { args: ['sync', id, '--cron', '*/5 * * * *', '--wait'], expect: /--wait and --cron/ },
    { args: ['tune', id, '--batch-size', '0'], expect: /--batch-size/ },
    { args: ['tune', id], expect: /--batch-size and\/or --rate/ },
    // The shape is checked by the CLI before anything starts; values the source's types refuse, by the worker.
    { args: ['backfill', id, '--from', '"garbage"', '--wait'], expect: /--from "garbage": invalid cursor/ },
    { args: ['backfill', id, '--from', '["not-a-time", "1"]', '--wait'], expect: /invalid cursor/, startsWorkflow: true },
  ];
}
