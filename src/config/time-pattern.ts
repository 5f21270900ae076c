/**
 * Time values as APIs send and take them: ISO-8601, epoch seconds (Stripe, Zendesk), epoch
 * milliseconds (HubSpot), date-only, or a strftime-like pattern ("%Y-%m-%d %H:%M:%S"). Internally a
 * time is exact ISO text (see time-key: nanoseconds, no float rounding); these convert both ways
 * through integers and decimal strings only, never through a float.
 */
export type TimeFormat = 'iso' | 'epoch_seconds' | 'epoch_ms' | 'date' | { pattern: string };

/** The directives a pattern may use: %Y %m %d %H %M %S %L (ms) %f (µs) %N (ns) %z (+hhmm, parsed also as Z or +hh:mm) %%. */
export const PATTERN_DIRECTIVES = /%([YmdHMSLfNz%])/g;

export function checkPattern(pattern: string): string | undefined {
  const bad = /%[^YmdHMSLfNz%]|%$/.exec(pattern);
  if (bad) return `unknown directive "${bad[0]}": use %Y %m %d %H %M %S %L (milliseconds) %f (microseconds) %N (nanoseconds) %z (UTC offset) and %% for "%"`;
  if (!/%Y/.test(pattern) || !/%m/.test(pattern) || !/%d/.test(pattern)) return 'must contain %Y, %m and %d (a time needs its date)';
  return undefined;
}
