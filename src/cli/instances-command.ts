import { InvalidArgumentError, type Command } from 'commander';
import type { InstanceSecretInput, InstanceView, StatusLine } from '../instances';
import { lazy } from './lazy';

type Pair = [string, string];

/** `--param k=v` and friends: repeatable, each NAME=VALUE. */
function pairs(flag: string) {
  return (value: string, previous: Pair[]): Pair[] => {
    const at = value.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`must be NAME=VALUE (${flag} ${value.includes('=') ? 'NAME' : value}=…)`);
    const name = value.slice(0, at);
    if (previous.some(([n]) => n === name)) throw new InvalidArgumentError(`${name} is given twice`);
    return [...previous, [name, value.slice(at + 1)]];
  };
}

/** `--weight W`: a fairness weight, above 0 and at most 1000 (the library checks the same). */
function parseWeight(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1000) throw new InvalidArgumentError('must be a number above 0 and at most 1000 (e.g. 0.5 or 3); 1 is the default');
  return n;
}

interface AddOptions {
  weight?: number;
  param: Pair[];
  secret: Pair[];
  secretFile: Pair[];
}

async function secretsOf(opts: AddOptions, cwd: string): Promise<Record<string, InstanceSecretInput>> {
  const { readFileSync } = await lazy('node:fs');
  const { resolve } = await lazy('node:path');
  const secrets: Record<string, InstanceSecretInput> = Object.fromEntries(opts.secret.map(([k, v]) => [k, { env: v }]));
  for (const [name, file] of opts.secretFile) {
    if (secrets[name]) throw new Error(`secret ${name} is given by --secret and --secret-file: give one`);
    let text: string;
    try {
      text = readFileSync(resolve(cwd, file), 'utf8');
    } catch (err) {
      throw new Error(`--secret-file ${name}=${file}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    // The trailing newline of `echo … > file` is not part of the secret.
    secrets[name] = { value: text.replace(/\r?\n$/, '') };
  }
  return secrets;
}

function line(v: InstanceView): string {
  const params = Object.entries(v.params).map(([k, p]) => `${k}=${p}`).join(', ');
  const secrets = Object.entries(v.secrets).map(([k, s]) => `${k} (${s})`).join(', ');
  const status = `${v.status}${v.reason ? ` (${v.reason})` : ''}`;
  return [v.id, status, params || 'no params', `secrets ${secrets || 'none'}`, `weight ${v.weight}${v.weightFrom === 'instance' ? '' : ` (${v.weightFrom})`}`, v.scheduleId ? `[${v.scheduleId}]` : 'no schedule'].join('  ');
}

export interface StatusAllOptions {
  json?: boolean;
  failing?: boolean;
  template?: string;
}

/** `status --all` (and `instances status`): one line per integration and instance. */
export async function printStatusAll(cmd: Command, opts: StatusAllOptions): Promise<void> {
  const config = (await lazy('./context')).loadCliConfig(cmd);
  const { statusAll, withTemporal } = await lazy('../instances');
  const { formatDuration } = await lazy('../config');
  const lines = await withTemporal(undefined, process.env, (client) => statusAll(config, { client, failing: !!opts.failing, unreachableLines: true, ...(opts.template ? { template: opts.template } : {}) }));
  if (opts.json) return console.log(JSON.stringify(lines, null, 2));
  if (!lines.length) return console.log(opts.failing ? 'nothing failing' : 'no integrations or instances');
  for (const l of lines) console.log(statusLine(l, formatDuration));
}

function statusLine(l: StatusLine, duration: (ms: number) => string): string {
  // Its state database could not be read: nothing else is known.
  if (l.state === 'unreachable') return [l.id, `unreachable (${(l.reason ?? '').split('\n')[0]})`, 'last success ?', 'lag ?', 'rows ?', 'failures ?', `next ${l.nextRun ?? '-'}`].join('  ');
  return [
    l.id,
    `${l.state}${l.reason ? ` (${l.reason.split('\n')[0]})` : ''}`,
    `last success ${l.lastSuccess ?? 'never'}`,
    `lag ${l.lagSeconds === null ? '-' : duration(l.lagSeconds * 1000)}`,
    `rows ${l.lastRows}`,
    `failures ${l.consecutiveFailures}`,
    ...(l.deadLetters ? [`dead letters ${l.deadLetters}`] : []),
    `next ${l.nextRun ?? '-'}`,
  ].join('  ');
}

export function registerInstances(program: Command): void {
  const instances = program.command('instances').description('instances of template integrations (`template: true`): one per customer, each with its own schedule, cursor and runs');

  instances
    .command('add <template> <instance-id>')
    .description("add an instance (the Temporal Schedule too, from the template's schedule); idempotent")
    .option('--param <name=value>', 'a parameter: ${instance.NAME} in the template (repeat for each)', pairs('--param'), [])
    .option('--secret <name=ENV_NAME>', "a secret read from the workers' environment variable ENV_NAME (only the name is stored)", pairs('--secret'), [])
    .option('--secret-file <name=FILE>', 'a secret read from FILE now, stored encrypted with TIDEMARK_ENCRYPTION_KEY', pairs('--secret-file'), [])
    .option('--weight <W>', "task-queue fairness weight of its runs, above 0 and at most 1000 (default: the template's fairnessWeight, else 1); change it later with `instances set-weight`", parseWeight)
    .action(async (template: string, instance: string, opts: AddOptions, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const secrets = await secretsOf(opts, process.cwd());
      const { addInstance } = await lazy('../instances');
      const r = await addInstance({ config, template, instance, params: Object.fromEntries(opts.param), secrets, ...(opts.weight !== undefined ? { weight: opts.weight } : {}) });
      const schedule = r.schedule ? `schedule ${r.schedule.scheduleId} ${r.schedule.outcome} (${r.schedule.detail})` : `no schedule (the template has none): \`tidemark sync ${r.id}\` runs it`;
      console.log(`${r.id}: ${r.outcome}; ${schedule}`);
      // Only the name is stored; the workers read the variable when a run starts (a restart picks up a new one).
      const unset = opts.secret.filter(([, env]) => !process.env[env]).map(([k, env]) => `${k}=${env}`);
      if (unset.length) console.error(`note: not set in this shell: ${unset.join(', ')}; the workers need them in their environment (restarted with them), or this instance's runs fail at their start`);
    });

  instances
    .command('list')
    .description('every instance: status, parameters, secret references (never values), schedule')
    .option('--template <id>', 'only the instances of this template')
    .option('--json', 'print JSON')
    .action(async (opts: { template?: string; json?: boolean }, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const views = await (await lazy('../instances')).listInstances({ config, ...(opts.template ? { template: opts.template } : {}) });
      if (opts.json) console.log(JSON.stringify(views, null, 2));
      else if (!views.length) console.log('no instances: add one with `tidemark instances add <template> <instance-id> [--param k=v] [--secret k=ENV_NAME]`');
      else for (const v of views) console.log(line(v));
    });

  instances
    .command('pause <template> <instance-id>')
    .description('pause an instance: its schedule starts nothing and its runs are refused until resumed')
    .option('--reason <text>', 'why (shown by `instances list` and on the schedule)')
    .action(async (template: string, instance: string, opts: { reason?: string }, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const r = await (await lazy('../instances')).pauseInstance({ config, template, instance, ...(opts.reason ? { reason: opts.reason } : {}) });
      console.log(`${r.id}: ${r.status} (${r.schedule === 'none' ? 'no schedule' : `schedule ${r.schedule}`})`);
    });

  instances
    .command('resume <template> <instance-id>')
    .description('resume a paused instance (or one that needed re-authorization) and its schedule')
    .action(async (template: string, instance: string, _opts: unknown, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const r = await (await lazy('../instances')).resumeInstance({ config, template, instance });
      console.log(`${r.id}: ${r.status} (${r.schedule === 'none' ? 'no schedule' : `schedule ${r.schedule}`})`);
    });

  instances
    .command('set-weight')
    .argument('<template>')
    .argument('<instance-id>')
    .argument('<weight>', 'above 0 and at most 1000, or `default` (the template\'s fairnessWeight, else 1)', (v: string) => (v === 'default' ? null : parseWeight(v)))
    .description("set an instance's fairness weight and update its schedule: the next run's activities carry it")
    .action(async (template: string, instance: string, w: number | null, _opts: unknown, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const r = await (await lazy('../instances')).setInstanceWeight({ config, template, instance, weight: w });
      console.log(`${r.id}: weight ${r.weight} (${r.schedule === 'none' ? 'no schedule' : `schedule ${r.schedule}`})`);
    });

  instances
    .command('remove <template> <instance-id>')
    .description('remove an instance and its schedule (refused while a run of it is going, unless --cancel); its checkpoints and runs stay unless --purge')
    .option('--purge', 'also delete its checkpoints, runs and dead letters')
    .option('--cancel', 'cancel its running workflows and wait (up to 60 s) for them to stop; without it a running instance is not removed')
    .action(async (template: string, instance: string, opts: { purge?: boolean; cancel?: boolean }, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const r = await (await lazy('../instances')).removeInstance({ config, template, instance, purge: !!opts.purge, cancel: !!opts.cancel });
      const what = [r.scheduleDeleted ? 'schedule deleted' : 'no schedule', ...(r.purged ? ['checkpoints, runs and dead letters purged'] : [])];
      console.log(`${r.id}: removed (${what.join('; ')})`);
    });

  instances
    .command('status')
    .description('one line per integration and instance: state, last success, lag behind the source, rows of the last run, consecutive failures, next run')
    .option('--json', 'print JSON')
    .option('--failing', 'only those failing or needing re-authorization')
    .option('--template <id>', 'only the instances of this template')
    .action((opts: StatusAllOptions, cmd: Command) => printStatusAll(cmd, opts));

  instances
    .command('reconcile')
    .description("make Temporal's instance schedules match the instances: create missing ones, delete those whose instance is gone (`schedule apply` does this too)")
    .option('--prune', 'also delete schedules of instances whose template left the config or has no schedule')
    .action(async (opts: { prune?: boolean }, cmd: Command) => {
      const config = (await lazy('./context')).loadCliConfig(cmd);
      const { reconcileInstances } = await lazy('../schedules');
      const { withTemporal } = await lazy('../instances');
      const { temporalSettings } = await lazy('../config/temporal-env');
      let printed = 0;
      await withTemporal(undefined, process.env, (client) =>
        reconcileInstances(client, config, {
          taskQueue: temporalSettings().taskQueue,
          prune: !!opts.prune,
          onReport: (r) => {
            printed++;
            console.log(`${r.integration}: ${r.outcome} (${r.detail})`);
          },
        }),
      );
      if (!printed) console.log('no instance schedules: nothing to do');
    });
}
