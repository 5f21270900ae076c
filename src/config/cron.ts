/**
 * Cron expressions checked before Temporal sees them: its refusal of a bad one says only "invalid CronSchedule"
 * (a cron workflow) or "CronString does not have 5-7 fields" (a schedule), without the value or the field.
 * The check refuses only what Temporal would refuse too (a false refusal would stop a valid config from loading):
 * - a cron workflow (`sync --cron`, robfig's standard parser): the five fields `minute hour day-of-month month
 *   day-of-week` (numbers, `*`, `?`, ranges `a-b`, steps `/n`, lists `a,b`, JAN–DEC, SUN–SAT), the descriptors
 *   (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, `@every <duration>`), a `CRON_TZ=` prefix;
 * - a Schedule (Temporal's own parser) also: a `# comment` at the end, month and weekday names by prefix
 *   (`sept`, `monday`, `mo-fr`), a year as a sixth field or seconds first and a year last (seven), and any
 *   `@every` (its durations and phase are Temporal's to read).
 */

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** shortest prefix of a name a Schedule takes */
  prefix?: number;
}

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];
const SECOND: Field = { name: 'second', min: 0, max: 59 };
const YEAR: Field = { name: 'year', min: 1970, max: 2999 };
const FIVE: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, prefix: 3 },
  { name: 'day of week', min: 0, max: 6, names: DAYS, prefix: 2 },
];

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const EVERY = /^@every\s+(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const HELP = 'five fields "minute hour day-of-month month day-of-week" (e.g. "*/5 * * * *", "0 3 * * MON-FRI"), or @hourly, @daily, @every 10m';

/** What is wrong with `expr`, or undefined when Temporal takes it. `schedule`: a Schedule's, else a cron workflow's. */
export function cronProblem(expr: string, schedule = false): string | undefined {
  let e = expr.trim();
  if (schedule && e.includes('#')) e = e.slice(0, e.indexOf('#')).trim();
  const tz = /^(CRON_TZ|TZ)=\S+\s+/.exec(e);
  if (tz) e = e.slice(tz[0].length);
  if (e.startsWith('@')) {
    const known = DESCRIPTORS.has(e) || (schedule ? /^@every\s+\S/.test(e) : EVERY.test(e));
    return known ? undefined : `unknown descriptor "${e}": ${HELP}`;
  }
  const parts = e.split(/\s+/).filter(Boolean);
  const fields: readonly Field[] | undefined =
    parts.length === 5 ? FIVE : !schedule ? undefined : parts.length === 6 ? [...FIVE, YEAR] : parts.length === 7 ? [SECOND, ...FIVE, YEAR] : undefined;
  if (!fields) return `has ${parts.length} field${parts.length === 1 ? '' : 's'}, not 5${schedule ? ' (or 6 with a year last, 7 with seconds first and a year last)' : ''}: ${HELP}`;
  // Six fields with every year is a five-field expression written by someone who meant seconds first (Quartz,
  // Spring): Temporal would read "0 */5 * * * *" as minute 0 of every fifth hour (found by an acceptance run).
  if (parts.length === 6 && (parts[5] === '*' || parts[5] === '?')) {
    return `has 6 fields with a year of "${parts[5]}": Temporal reads the first field as the minute, not the second (so "0 */5 * * * *" runs every 5 hours). Write the 5 fields "minute hour day-of-month month day-of-week" (e.g. "*/5 * * * *")`;
  }
  for (const [i, f] of fields.entries()) {
    const field = f.name === 'day of week' && schedule ? { ...f, max: 7 } : f;
    const bad = fieldProblem(parts[i] as string, field, schedule);
    if (bad) return `${f.name} "${parts[i]}": ${bad}; ${HELP}`;
  }
  return undefined;
}


function fieldProblem(field: string, f: Field, schedule: boolean): string | undefined {
  for (const item of field.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step))) return `"${item}" has a bad step (use a/n with a whole n)`;
    if (step !== undefined && Number(step) === 0) return 'a step of 0';
    if (range === '*' || range === '?') continue;
    const ends = (range ?? '').split('-');
    if (ends.length > 2 || ends.some((x) => x === '')) return `"${item}" is not a number, a range a-b or *`;
    const values = ends.map((x) => valueOf(x, f, schedule));
    if (values.some((v) => v === undefined)) return `"${item}" is outside ${f.min}-${f.max}${f.names ? ` (or ${short(f, 0)}-${short(f, f.names.length - 1)})` : ''}`;
    if (values.length === 2 && (values[0] as number) > (values[1] as number)) return `"${item}" is a range that runs backwards`;
  }
  return undefined;
}

const short = (f: Field, i: number) => (f.names?.[i] ?? '').slice(0, 3);

/** A number in range, or a name: its three letters (a cron workflow), any prefix of `prefix` letters or more (a Schedule). */
function valueOf(x: string, f: Field, schedule: boolean): number | undefined {
  if (/^\d+$/.test(x)) {
    const n = Number(x);
    return n >= f.min && n <= f.max ? n : undefined;
  }
  if (!f.names) return undefined;
  const up = x.toUpperCase();
  const i = schedule ? f.names.findIndex((n) => up.length >= (f.prefix ?? 3) && n.startsWith(up)) : f.names.findIndex((n) => n.slice(0, 3) === up);
  return i < 0 ? undefined : i + f.min;
}
