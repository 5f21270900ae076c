import { PermanentError } from '../errors';

/** Bad instance input (CLI or library): found before anything is written; each message says what to do. */
export class InstanceError extends PermanentError {
  override readonly name: string = 'InstanceError';
}

export class UnknownTemplateError extends InstanceError {
  override readonly name = 'UnknownTemplateError';
  constructor(
    readonly template: string,
    readonly known: string[],
  ) {
    super(`unknown template "${template}": ${known.length ? `the config's templates are ${known.map((k) => `"${k}"`).join(', ')}` : 'the config has no templates: mark an integration with `template: true`'}`);
  }
}

export class InvalidInstanceIdError extends InstanceError {
  override readonly name = 'InvalidInstanceIdError';
  constructor(readonly instance: string) {
    super(`invalid instance id ${JSON.stringify(instance)}: must match [a-z0-9][a-z0-9_-]* (lower case letters, digits, "_" and "-", at most 63 characters)`);
  }
}

/** Parameters or secrets that do not match what the template uses. */
export class InstanceParamsError extends InstanceError {
  override readonly name = 'InstanceParamsError';
  constructor(
    readonly instance: string,
    readonly problems: string[],
  ) {
    super(`instance ${instance}: ${problems.join('; ')}`);
  }
}

/** An instance id whose Temporal workflow ids another instance of the template has (`acme-cron` beside `acme`). */
export class ClashingInstanceIdError extends InstanceError {
  override readonly name = 'ClashingInstanceIdError';
  constructor(
    readonly instance: string,
    readonly other: string,
  ) {
    super(`instance id ${instance} would share Temporal workflow ids with instance ${other} (an id's -cron and -scheduled-… workflows are its own): choose another instance id`);
  }
}

export class DuplicateInstanceError extends InstanceError {
  override readonly name = 'DuplicateInstanceError';
  constructor(readonly instance: string) {
    super(`instance ${instance} already exists with other parameters or secrets: remove it first (\`tidemark instances remove ${instance.replace('/', ' ')}\`; its checkpoints stay unless --purge), then add it again`);
  }
}

export class UnknownInstanceError extends InstanceError {
  override readonly name = 'UnknownInstanceError';
  constructor(readonly instance: string) {
    super(`unknown instance ${instance}: add it with \`tidemark instances add ${instance.replace('/', ' ')} …\` (\`tidemark instances list\` shows the instances)`);
  }
}

export class InstanceNotActiveError extends InstanceError {
  override readonly name = 'InstanceNotActiveError';
  constructor(
    readonly instance: string,
    readonly status: string,
    readonly reason: string | null,
  ) {
    super(`instance ${instance} is ${status}${reason ? ` (${reason})` : ''}: nothing runs until \`tidemark instances resume ${instance.replace('/', ' ')}\``);
  }
}

/** A stored secret cannot be encrypted or decrypted with this process's TIDEMARK_ENCRYPTION_KEY. */
export class InstanceSecretError extends InstanceError {
  override readonly name = 'InstanceSecretError';
}

export class InvalidWeightError extends InstanceError {
  override readonly name = 'InvalidWeightError';
  constructor(
    readonly instance: string,
    readonly weight: unknown,
  ) {
    super(`instance ${instance}: weight ${JSON.stringify(weight) ?? String(weight)} must be a number above 0 and at most 1000 (e.g. 0.5 or 3): its share of task dispatch relative to other instances, 1 by default`);
  }
}

/** `add` of an instance that exists with another weight: changing it is set-weight's job, so a re-run of an onboarding script never changes it by surprise. */
export class WeightDiffersError extends InstanceError {
  override readonly name = 'WeightDiffersError';
  constructor(
    readonly instance: string,
    readonly have: number | null,
    readonly want: number,
  ) {
    super(`instance ${instance} already exists with weight ${have ?? 'unset (the template default)'}: change it with \`tidemark instances set-weight ${instance.replace('/', ' ')} ${want}\` (or setInstanceWeight())`);
  }
}
