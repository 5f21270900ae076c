import { PermanentError } from '../errors';

export class VerifyError extends PermanentError {
  override readonly name = 'VerifyError';
}

const pct = (f: number) => `${Number((f * 100).toFixed(2))}%`;

/**
 * The delete guard: a source read that silently returned too little must never empty a target. Permanent,
 * so a scheduled reconciliation fails at once (non-retryable) instead of retrying into the same numbers.
 */
export class TooManyDeletesError extends PermanentError {
  override readonly name = 'TooManyDeletesError';
  constructor(
    readonly integration: string,
    readonly rowsToDelete: number,
    readonly targetRows: number,
    readonly maxFraction: number,
  ) {
    super(
      `${integration}: refusing to delete ${rowsToDelete} of ${targetRows} target rows (${pct(targetRows ? rowsToDelete / targetRows : 1)}), ` +
        `more than deletes.maxFraction ${maxFraction} (${pct(maxFraction)}); nothing was deleted. If the source really lost those rows, ` +
        `list them with \`tidemark verify ${integration} --delete --dry-run\` and delete them with \`tidemark verify ${integration} --repair --delete --force\` ` +
        `(or raise deletes.maxFraction); otherwise check the source: a read that returns too little must never empty the target.`,
    );
  }
}

/** Another run holds the integration's lock: writing now would race it. Not permanent: it passes. */
export class IntegrationBusyError extends Error {
  override readonly name = 'IntegrationBusyError';
  constructor(readonly integration: string) {
    super(`integration "${integration}" is busy (a run is writing to the target): run verify again when it is done`);
  }
}
