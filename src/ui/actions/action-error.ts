/** An action the operator asked for that cannot be done as given; the message says what to do instead. */
export class ActionRefusedError extends Error {
  override readonly name = 'ActionRefusedError';
  constructor(
    readonly action: string,
    readonly integration: string,
    reason: string,
    readonly status: 400 | 404 | 409 | 415 | 503 = 400,
  ) {
    super(`${action} ${integration}: ${reason}`);
  }
}

export type Form = Record<string, string | undefined>;

/** A form field through the same parser as the CLI option, its error named after the field. */
export function field<T>(form: Form, name: string, parse: (v: string) => T, action: string, id: string): T | undefined {
  const raw = form[name]?.trim();
  if (!raw) return undefined;
  try {
    return parse(raw);
  } catch (err) {
    throw new ActionRefusedError(action, id, `${name} ${JSON.stringify(raw)} ${(err as Error).message}`);
  }
}
