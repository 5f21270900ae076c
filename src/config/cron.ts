/**
 * Cron expressions checked before Temporal sees them: its refusal of a bad one says only "invalid CronSchedule"
 * (a cron workflow) or "CronString does not have 5-7 fields" (a schedule), without the value or the field.
 * Accepted: the five fields `minute hour day-of-month month day-of-week` (numbers, `*`, `?`, ranges `a-b`,
 * steps `/n`, lists `a,b`, JAN–DEC, SUN–SAT), the descriptors (@yearly, @annually, @monthly, @weekly, @daily,
 * @midnight, @hourly, `@every <duration>`), an optional `CRON_TZ=<zone>` prefix; a schedule also takes
 * Temporal's six- and seven-field forms (with seconds first, a year last), checked by their characters only.
 */

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const EVERY = /^@every\s+(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const HELP = 'five fields "minute hour day-of-month month day-of-week" (e.g. "*/5 * * * *", "0 3 * * MON-FRI"), or @hourly, @daily, @every 10m';

/** What is wrong with `expr`, or undefined when it is a cron expression Temporal takes. `schedule`: a Schedule's (5-7 fields). */
export function cronProblem(expr: string, schedule = false): string | undefined {
  let e = expr.trim();
  const tz = /^(CRON_TZ|TZ)=\S+\s+/.exec(e);
  if (tz) e = e.slice(tz[0].length);
  if (e.startsWith('@')) return DESCRIPTORS.has(e) || EVERY.test(e) ? undefined : `unknown descriptor "${e}": ${HELP}`;
  const parts = e.split(/\s+/).filter(Boolean);
  if (parts.length === 5) {
    for (const [i, f] of FIELDS.entries()) {
      const bad = fieldProblem(parts[i] as string, f);
      if (bad) return `${f.name} "${parts[i]}": ${bad}; ${HELP}`;
    }
    return undefined;
  }
  if (schedule && (parts.length === 6 || parts.length === 7)) {
    const odd = parts.find((p) => !/^[\d*?/,A-Za-z#LW-]+$/.test(p));
    return odd === undefined ? undefined : `field "${odd}" is not a cron field; ${HELP}`;
  }
  return `has ${parts.length} field${parts.length === 1 ? '' : 's'}, not 5${schedule ? ' (or 6-7 with seconds and year)' : ''}: ${HELP}`;
}

function fieldProblem(field: string, f: (typeof FIELDS)[number]): string | undefined {
  for (const item of field.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step))) return `"${item}" has a bad step (use a/n with a whole n)`;
    if (step !== undefined && Number(step) === 0) return 'a step of 0';
    if (range === '*' || range === '?') continue;
    const ends = (range ?? '').split('-');
    if (ends.length > 2 || ends.some((x) => x === '')) return `"${item}" is not a number, a range a-b or *`;
    const values = ends.map((x) => valueOf(x, f));
    if (values.some((v) => v === undefined)) return `"${item}" is outside ${f.min}-${f.max}${'names' in f ? ` (or ${f.names[0]}-${f.names[f.names.length - 1]})` : ''}`;
    if (values.length === 2 && (values[0] as number) > (values[1] as number)) return `"${item}" is a range that runs backwards`;
  }
  return undefined;
}

function valueOf(x: string, f: (typeof FIELDS)[number]): number | undefined {
  if (/^\d+$/.test(x)) {
    const n = Number(x);
    return n >= f.min && n <= f.max ? n : undefined;
  }
  if (!('names' in f)) return undefined;
  const i = (f.names as readonly string[]).indexOf(x.toUpperCase());
  return i < 0 ? undefined : i + f.min;
}
