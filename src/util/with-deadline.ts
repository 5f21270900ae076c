/** `work`, or a rejection ("<what>: no answer within N ms") once `ms` pass first; the timer never outlives the race. */
export function withDeadline<T>(work: Promise<T>, ms: number, what?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const message = `${what ? `${what}: ` : ''}no answer within ${ms} ms`;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
