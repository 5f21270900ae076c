import { describe, expect, it } from 'vitest';
import { cronProblem } from '../../src/config/cron';
import { parseConfig } from '../../src/config';

describe('cron expressions checked before Temporal sees them', () => {
  it.each(['*/5 * * * *', '0 3 * * MON-FRI', '0 0 1 jan *', '0,15,30,45 * * * *', '0 0 * * 6', '30 2 1-15/2 * SUN', '@hourly', '@daily', '@every 10m', '@every 1h30m', 'CRON_TZ=Europe/Berlin 0 3 * * *', '? * * * *'])('takes %s', (expr) => {
    expect(cronProblem(expr)).toBeUndefined();
  });

  it.each([
    ['bogus cron', /has 2 fields, not 5/],
    ['60 * * * *', /minute "60": "60" is outside 0-59/],
    ['* 24 * * *', /hour "24"/],
    ['* * 0 * *', /day of month "0"/],
    ['* * * 13 *', /month "13".*JAN-DEC/],
    ['* * * * MOO', /day of week "MOO".*SUN-SAT/],
    ['5-1 * * * *', /runs backwards/],
    ['*/0 * * * *', /a step of 0/],
    ['1-2-3 * * * *', /not a number, a range/],
    ['@weekdays', /unknown descriptor "@weekdays"/],
    ['0 3 * * * 2027', /has 6 fields, not 5/],
  ])('refuses %s, saying why', (expr, why) => {
    const problem = cronProblem(expr);
    expect(problem).toMatch(why);
    expect(problem).toMatch(/e\.g\. "\*\/5 \* \* \* \*"/);
  });

  it("a cron workflow's day of week ends at 6 (robfig's standard parser); a Schedule's at 7", () => {
    expect(cronProblem('0 0 * * 7')).toMatch(/day of week "7": "7" is outside 0-6/);
    expect(cronProblem('0 0 * * 7', true)).toBeUndefined();
  });

  it("a Schedule also takes what Temporal's own parser reads: a year, seconds, comments, names by prefix, any @every", () => {
    for (const expr of ['0 3 * * * 2027', '0 0 12 * * ? 2027', '0 3 * * * # nightly load (3:00)', '@daily # nightly', '0 9 * sept monday', '0 9 * * mo-fr', '@every 1d', '@every 2h/30m', '0 0 1 january *']) {
      expect(cronProblem(expr, true), expr).toBeUndefined();
    }
    expect(cronProblem('0 3 * * * 1900', true)).toMatch(/year "1900"/);
    // Seconds first (Quartz, Spring) would run every 5 hours as Temporal reads it: refused (acceptance run).
    expect(cronProblem('0 */5 * * * *', true)).toMatch(/^has 6 fields with a year of "\*": Temporal reads the first field as the minute, not the second/);
    expect(cronProblem('a b c d e f g h', true)).toMatch(/has 8 fields, not 5 \(or 6 with a year last, 7 with seconds first/);
    // The same names a cron workflow does not take: robfig reads three letters only.
    expect(cronProblem('0 9 * * monday')).toMatch(/day of week "monday"/);
  });

  it("a config's schedule cron is checked when the config loads, naming the field and the value", () => {
    const cfg = (cron: string) => ({ integrations: [{ id: 'o', source: { kind: 'postgres', url: 'postgres://x', table: 't', cursor: ['id'] }, sink: { table: 'c', key: ['id'] }, schedule: { cron } }] });
    expect(() => parseConfig(cfg('bogus cron'))).toThrow(/integrations\[0\]\.schedule\.cron: "bogus cron" has 2 fields, not 5/);
    expect(parseConfig(cfg('*/5 * * * *')).integrations[0]?.schedule).toMatchObject({ cron: '*/5 * * * *' });
    // A field that is not there says so in words (not zod's "expected string, received undefined").
    expect(() => parseConfig({ integrations: [{ id: 'o', source: { kind: 'postgres', url: 'postgres://x', cursor: ['id'] }, sink: { table: 'c', key: ['id'] } }] })).toThrow(/integrations\[0\]\.source\.table: required \(string\), but missing/);
  });
});
